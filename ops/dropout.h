// Inverted dropout: in training each element is zeroed with probability p and
// the survivors scaled by 1 / (1 - p); in eval (or p == 0) y is x itself.
// The mask is drawn from `seed` (a counter-based hash of seed and element
// index), so the same seed gives the same mask on any thread count and on
// any device. f32, or f16 on a GPU.
#pragma once

#include <cstdint>

#include "ops/tensor.h"

namespace ringmaster::ops {

// A blocked x is masked over its physical buffer (padding stays zero); y has
// x's layout. p == 1 zeroes everything. The caller picks a fresh seed per step.
Tensor dropout(const Tensor& x, float p, bool training, uint64_t seed);

// The mask, as a pure function every backend shares: element i (of the
// physical buffer) is kept when the top 32 bits of dropout_hash(seed, i) are
// >= dropout_threshold(p). dropout_hash is the i-th output of a splitmix64
// stream whose start is splitmix64(seed).
constexpr uint64_t splitmix64_mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
constexpr uint64_t dropout_hash(uint64_t seed, uint64_t i) {
  constexpr uint64_t kGolden = 0x9e3779b97f4a7c15ull;
  return splitmix64_mix(splitmix64_mix(seed + kGolden) + (i + 1) * kGolden);
}
// p in [0, 1] -> a threshold in [0, 2^32].
constexpr uint64_t dropout_threshold(float p) {
  return static_cast<uint64_t>(static_cast<double>(p) * 4294967296.0);
}
constexpr bool dropout_keeps(uint64_t seed, uint64_t i, uint64_t threshold) {
  return (dropout_hash(seed, i) >> 32) >= threshold;
}

// Backend kernels, over the physical buffer of x (and of y, dy, dx, in x's
// layout). mask: (physical elements) u8, 1 where kept.
struct DropoutKernels {
  // mask[i] = keeps(seed, i); y[i] = mask[i] ? x[i] * scale : 0.
  void (*forward)(const Tensor& x, float p, float scale, uint64_t seed, const Tensor& mask,
                  const Tensor& y);
  // dx[i] = mask[i] ? dy[i] * scale : 0.
  void (*backward)(const Tensor& dy, const Tensor& mask, float scale, const Tensor& dx);
};

}  // namespace ringmaster::ops
