// The bias gradient of a convolution (or transposed convolution) on its own:
// dy summed over batch and space, per channel. Backward passes use it when
// the weights are frozen but the bias trains, instead of running oneDNN's
// weight-gradient primitive for a weight gradient nobody wants.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops::cpu {

// dy: (N, C, H, W) f32 on the CPU, any layout -> (C) f32 plain, summed in double.
Tensor bias_gradient(const Tensor& dy);

}  // namespace ringmaster::ops::cpu
