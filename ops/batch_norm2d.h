// Batch normalisation over (N, C, H, W), per channel.
// training: normalise with the batch mean and biased variance; update the
//   running statistics in place: running = (1 - momentum) * running +
//   momentum * batch (the running variance uses the unbiased batch variance,
//   as PyTorch does).
// eval: normalise with running_mean / running_var (no graph through them).
//   y = gamma * (x - mean) / sqrt(var + eps) + beta.  gamma, beta: (C).
// Backward gives dx, dgamma, dbeta. Any layout in, same layout out. x (and
// y, dx) f32, or f16 on a GPU; gamma, beta and the statistics are always f32.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

struct BatchNormParams {
  bool training = true;
  float momentum = 0.1f;
  float eps = 1e-5f;
};

// gamma, beta, running_mean, running_var: plain f32 (C). The running statistics
// may be undefined in training (then nothing is tracked). Training with one
// value per channel (N * H * W == 1) throws ops::Error, as PyTorch does.
Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                    const Tensor& running_mean, const Tensor& running_var,
                    const BatchNormParams& p);

// Backend kernels. x, y, dy, dx: (N, C, H, W) in x's layout; the rest (C) plain.
struct BatchNormKernels {
  // training: y from the batch statistics, which are written to mean and var
  // (biased variance); eval: y from the given mean and var.
  void (*forward)(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& mean,
                  const Tensor& var, bool training, float eps, const Tensor& y);
  // dx, dgamma, dbeta; mean and var are the ones forward used (constants when !training).
  void (*backward)(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& beta,
                   const Tensor& mean, const Tensor& var, bool training, float eps,
                   const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta);
  // running = (1 - momentum) * running + momentum * batch, the variance made
  // unbiased first (times count / (count - 1)).
  void (*update_running)(const Tensor& batch_mean, const Tensor& batch_var, int64_t count,
                         float momentum, const Tensor& running_mean, const Tensor& running_var);
};

}  // namespace ringmaster::ops
