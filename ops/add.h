// Element-wise a + b of equal shapes (a residual connection). If the layouts
// differ, b is converted to a's layout; the output has a's layout.
// Backward passes dy to both inputs unchanged (b's gradient may arrive in a's
// layout; autograd accumulates across layouts). No broadcasting. f32, or
// f16 on a GPU (both inputs of one dtype).
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor add(const Tensor& a, const Tensor& b);

// Backend kernels. a, b, y share one physical layout (blocked padding is zero
// in both and stays zero in y).
struct AddKernels {
  void (*forward)(const Tensor& a, const Tensor& b, const Tensor& y);  // y = a + b
};

}  // namespace ringmaster::ops
