// Reference batch normalisation over (N, C, H, W), per channel, in double.
// Forward only; the running-statistic update is returned through the two
// optional outputs so tests can check it (the inputs are not modified).
#pragma once

#include "ops/batch_norm2d.h"
#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

// x: (N, C, H, W); gamma, beta, running_mean, running_var: (C).
RefTensor batch_norm2d(const RefTensor& x, const RefTensor& gamma, const RefTensor& beta,
                       const RefTensor& running_mean, const RefTensor& running_var,
                       const BatchNormParams& p, RefTensor* new_running_mean = nullptr,
                       RefTensor* new_running_var = nullptr);

}  // namespace ringmaster::ops::reference
