// Concatenation along one axis (axis 1, channels, for inception modules).
// All inputs share every other dimension, dtype and device; output is plain
// (blocked inputs are made plain first). axis may be negative. Backward
// slices dy (made plain) into one gradient per input.
#pragma once

#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor concat(const std::vector<Tensor>& xs, int axis = 1);

// Backend kernels; plain tensors of any dtype, equal outside `axis`.
struct ConcatKernels {
  // dst[..., offset : offset + src.dim(axis), ...] = src
  void (*insert)(const Tensor& src, int axis, int64_t offset, const Tensor& dst);
  // dst = src[..., offset : offset + dst.dim(axis), ...]
  void (*extract)(const Tensor& src, int axis, int64_t offset, const Tensor& dst);
};

}  // namespace ringmaster::ops
