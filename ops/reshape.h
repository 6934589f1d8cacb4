// Reshape and flatten with autograd. A blocked input is made plain first.
//   reshape: same number of elements; one dim may be -1 (inferred).
//   flatten(x, axis): (d0..d{axis-1}, d{axis}*...*d{n-1}), as ONNX Flatten
//   (axis 0 gives (1, numel)); axis may be negative (counts from the end).
// No kernels: a plain x gives a view of its storage, a blocked x a plain copy.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

// Backward reshapes dy (made plain) back to x's shape.
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int axis = 1);

// shape with its one -1 (if any) replaced so that it holds numel elements.
Shape infer_shape(const Shape& shape, int64_t numel);

}  // namespace ringmaster::ops
