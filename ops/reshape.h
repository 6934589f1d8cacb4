// Reshape and flatten with autograd. A blocked input is made plain first.
//   reshape: same number of elements; one dim may be -1 (inferred).
//   flatten(x, axis): (d0..d{axis-1}, d{axis}*...*d{n-1}), as ONNX Flatten
//   (axis 0 gives (1, numel)).
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor reshape(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int axis = 1);

}  // namespace ringmaster::ops
