// RandomStream: splitmix64 draws, the same on every machine, compiler and
// thread count (no std:: distributions): what the synthetic data sets
// (composites, caption composites) draw their images from, one stream per
// image.
#pragma once

#include <cstdint>

namespace ringmaster::models {

class RandomStream {
 public:
  explicit RandomStream(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int64_t integer(int64_t lo, int64_t hi) {                                   // [lo, hi]
    return lo + static_cast<int64_t>(uniform() * static_cast<double>(hi - lo + 1));
  }

 private:
  uint64_t state_;
};

}  // namespace ringmaster::models
