// dtype conversion with autograd: f32 <-> f16 (F16C on CPU, round to nearest
// even). The gradient is cast back to the input's dtype.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor cast(const Tensor& x, DType to);

}  // namespace ringmaster::ops
