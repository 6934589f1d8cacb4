// Small helpers every op uses: a new tensor with another's shape, dtype,
// device and physical layout; and a tensor converted to another's layout.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

// Uninitialised tensor with t's shape, dtype, device and physical layout.
Tensor empty_like(const Tensor& t);
// Zero-filled, same as above.
Tensor zeros_like(const Tensor& t);
// The values of t stored in like's physical layout (t itself if already so).
Tensor same_layout_as(const Tensor& t, const Tensor& like);
// Number of elements in the physical buffer (includes blocked padding).
int64_t physical_numel(const Tensor& t);
// A dtype the float ops compute in: f32 anywhere, or f16 on a CUDA device
// (mixed precision; the CPU kernels are f32 only).
bool is_compute_dtype(const Tensor& t);

}  // namespace ringmaster::ops
