// Internal to ops/cuda/: the pieces the cross-entropy losses (softmax.cu,
// spatial_cross_entropy.cu) share: the label check whose verdict comes back to
// the host, so a bad label throws as on the CPU, and a mean of per-row (or
// per-pixel) losses summed in double, as the CPU kernels do (and a sum with
// any divisor, for smooth-L1 and binary cross-entropy).
#pragma once

#include <cstdint>

#include "ops/tensor.h"

namespace ringmaster::ops::cuda {

// The smallest flat index of labels (i64 or i32, plain, on a GPU) whose value
// is outside [0, c), or -1 when none. Blocks until the device has checked.
int64_t first_label_outside(const Tensor& labels, int64_t c);

// loss[0] (f32) = mean of v[0 .. n) (f64), summed in double by one block;
// both device pointers, on the current device.
void mean_into(const double* v, int64_t n, float* loss);
// The same with another divisor: loss[0] = sum of v[0 .. n) / divisor.
void sum_into(const double* v, int64_t n, double divisor, float* loss);

}  // namespace ringmaster::ops::cuda
