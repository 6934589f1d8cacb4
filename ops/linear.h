// Fully connected layer: y = x w^T + b.
//   x: (N, in) (a 4-d x is flattened from dim 1), w: (out, in), b: (out) or undefined.
//   y: (N, out), plain. fuse_relu applies max(y, 0) in the same pass.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, bool fuse_relu = false);

}  // namespace ringmaster::ops
