// Slicing along one axis with step 1: y = x[..., start:end, ...] (a copy, not
// a view), and crop2d, the spatial crop FCN uses to align a skip connection
// (slice on H, then on W). start/end are already resolved: 0 <= start <= end
// <= dim (callers translate Python/ONNX negative or out-of-range bounds).
// Any dtype; blocked inputs are made plain; the output is plain. Backward
// writes dy into a zero tensor of x's shape. It reuses concat's copy kernels
// (ConcatKernels), so it has no kernels of its own.
#pragma once

#include <cstdint>

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end);

// x: (N, C, H, W) -> (N, C, h, w) taken from rows top..top+h, columns
// left..left+w; x itself (any layout) when that is all of it.
Tensor crop2d(const Tensor& x, int64_t top, int64_t left, int64_t h, int64_t w);

}  // namespace ringmaster::ops
