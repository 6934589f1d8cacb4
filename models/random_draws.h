// RandomDraws: a module that draws at random in training (dropout's masks, a
// detector's sampled anchors and RoIs) does so from a base seed, fixed at
// construction, and a count of the draws made so far: draw `call` uses the
// seed draw_seed(base, call). The count is all a checkpoint keeps to resume
// the same draws (training/run_position.h).
#pragma once

#include <cstdint>

namespace ringmaster::models {

class RandomDraws {
 public:
  virtual ~RandomDraws() = default;
  virtual uint64_t calls() const = 0;
  virtual void set_calls(uint64_t calls) = 0;
};

// splitmix64 of one value: the seed of draw `call` from `base`.
inline uint64_t draw_seed(uint64_t base, uint64_t call) {
  auto mix = [](uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  return mix(base ^ mix(call));
}

}  // namespace ringmaster::models
