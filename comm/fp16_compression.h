// FP16 compression for the wire: a power-of-two scale chosen from max |x| so
// that nothing overflows half precision, conversion with F16C (ops/half.h's
// scalar code for tails and old CPUs), fp32 accumulation on receive, and the
// error-feedback store (the rounding residual of each bucket, added back into
// its next input). Pure functions on buffers; no transport, no threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace ringmaster::comm {

// A power of two s with max|x| * s in [2^14, 2^15): far below fp16's maximum
// (65504) even after adding a few such values, and far above its subnormals.
// 1 when x is empty, all zero, or holds inf (inf then travels as inf; NaN
// travels as NaN).
float fp16_scale(std::span<const float> x);

// Wire buffers may be unaligned (they live inside ZeroMQ messages): they are
// void pointers to n little-endian binary16 values.
// wire = half(x * scale), rounded to nearest even. With `residual` non-null
// also residual = x - half(x * scale) / scale: what the rounding lost, or 0
// where that is not finite (an inf or NaN input, or one beyond half's range),
// so an overflowing step never carries into the next ones.
void fp16_compress(std::span<const float> x, float scale, void* wire, float* residual);
// y = wire / scale.
void fp16_decompress(const void* wire, float scale, std::span<float> y);
// y += wire / scale, in fp32.
void fp16_decompress_add(const void* wire, float scale, std::span<float> y);

// Error feedback: one fp32 residual per bucket, keyed by bucket id. Not
// thread-safe (owned by the thread that runs the collectives).
class ErrorFeedback {
 public:
  // The residual of `bucket` with n elements: zeros when new or resized.
  std::span<float> residual(uint64_t bucket, size_t n);
  void clear() { residuals_.clear(); }

 private:
  std::unordered_map<uint64_t, std::vector<float>> residuals_;
};

}  // namespace ringmaster::comm
