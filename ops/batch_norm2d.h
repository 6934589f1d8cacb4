// Batch normalisation over (N, C, H, W), per channel.
// training: normalise with the batch mean and biased variance; update the
//   running statistics in place: running = (1 - momentum) * running +
//   momentum * batch (the running variance uses the unbiased batch variance,
//   as PyTorch does).
// eval: normalise with running_mean / running_var (no graph through them).
//   y = gamma * (x - mean) / sqrt(var + eps) + beta.  gamma, beta: (C).
// Backward gives dx, dgamma, dbeta. Any layout in, same kind out.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

struct BatchNormParams {
  bool training = true;
  float momentum = 0.1f;
  float eps = 1e-5f;
};

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                    const Tensor& running_mean, const Tensor& running_var,
                    const BatchNormParams& p);

}  // namespace ringmaster::ops
