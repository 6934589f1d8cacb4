// Element-wise a + b of equal shapes (a residual connection). If the layouts
// differ, b is converted to a's layout; the output has a's layout.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor add(const Tensor& a, const Tensor& b);

}  // namespace ringmaster::ops
