// relu(x) = max(x, 0), element-wise, any shape and layout (a blocked input
// gives a blocked output of the same layout). f32, or f16 on a GPU.
// Backward: dx = dy * (y > 0).
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor relu(const Tensor& x);

// Backend kernels. y and dy arrive in the same physical layout as x.
struct ReluKernels {
  void (*forward)(const Tensor& x, const Tensor& y);                      // y = relu(x)
  void (*backward)(const Tensor& y, const Tensor& dy, const Tensor& dx);  // dx = dy * (y > 0)
};

}  // namespace ringmaster::ops
