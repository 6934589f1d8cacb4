// reshape / flatten: shape arithmetic and autograd over Tensor::reshape
// views. No backend kernels: a blocked input goes through to_plain().
#include "ops/reshape.h"

#include "ops/autograd.h"

namespace ringmaster::ops {
Shape infer_shape(const Shape& shape, int64_t numel) {
  Shape out = shape;
  int64_t known = 1;
  int inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      RM_CHECK(inferred < 0, "reshape to ", shape_str(shape), ": more than one -1");
      inferred = static_cast<int>(i);
    } else {
      RM_CHECK(shape[i] >= 0, "reshape to ", shape_str(shape), ": negative dimension");
      known *= shape[i];
    }
  }
  if (inferred >= 0) {
    RM_CHECK(known > 0 && numel % known == 0, "cannot reshape ", numel, " elements to ",
             shape_str(shape));
    out[static_cast<size_t>(inferred)] = numel / known;
  }
  RM_CHECK(shape_numel(out) == numel, "cannot reshape ", numel, " elements to ", shape_str(shape));
  return out;
}

Tensor reshape(const Tensor& x, const Shape& shape) {
  const Shape out = infer_shape(shape, x.numel());
  Tensor y = x.to_plain().reshape(out);
  if (!needs_grad({&x})) return y;
  return record(y,
                backward_node("ReshapeBackward",
                              [shape = x.shape()](const Tensor& dy) -> std::vector<Tensor> {
                                return {dy.to_plain().reshape(shape)};
                              }),
                {x});
}

Tensor flatten(const Tensor& x, int axis) {
  const int nd = static_cast<int>(x.ndim());
  const int a = axis < 0 ? axis + nd : axis;
  RM_CHECK(a >= 0 && a <= nd, "flatten axis ", axis, " out of range for ", to_string(x));
  int64_t rows = 1, cols = 1;
  for (int d = 0; d < nd; ++d) (d < a ? rows : cols) *= x.dim(d);
  return reshape(x, {rows, cols});
}

}  // namespace ringmaster::ops
