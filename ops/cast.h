// dtype conversion with autograd: f32 <-> f16 (F16C on CPU, round to nearest
// even). The gradient is cast back to the input's dtype (its derivative is
// taken as the identity, as in PyTorch). Casting to the same dtype returns x
// itself. A blocked input is made plain first; the output is plain. Other
// dtype pairs are not supported.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor cast(const Tensor& x, DType to);

// Backend kernels; x and y plain, equal shapes, one f32 and the other f16.
struct CastKernels {
  void (*convert)(const Tensor& x, const Tensor& y);
};

}  // namespace ringmaster::ops
