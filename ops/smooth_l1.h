// smooth_l1_loss: the Huber-like box regression loss of Fast and Faster
// R-CNN (PyTorch's F.smooth_l1_loss): per element, with d = x - target,
//   0.5 d^2 / beta  where |d| < beta,  |d| - 0.5 beta  elsewhere
// (beta 0: plain |d|), folded by their mean or sum into a scalar (). x and
// target f32 of one shape on one device, any layout. Backward into x only:
// d / beta inside, sign(d) outside (0 at d = 0 when beta is 0), over the
// element count for the mean. The terms are added in double.
#pragma once

#include "ops/loss_reduction.h"
#include "ops/tensor.h"

namespace ringmaster::ops {

// sum_divisor: with kSum, the sum is divided by it (Faster R-CNN sums the
// box terms of its positives and divides by every sampled box); > 0.
Tensor smooth_l1_loss(const Tensor& x, const Tensor& target, double beta = 1.0,
                      LossReduction reduction = LossReduction::kMean, double sum_divisor = 1.0);

// Backend kernels on plain tensors of n elements.
struct SmoothL1Kernels {
  // loss () f32 = the sum of the terms / divisor.
  void (*forward)(const Tensor& x, const Tensor& target, double beta, double divisor,
                  const Tensor& loss);
  // dx = scale * the terms' derivatives.
  void (*backward)(const Tensor& x, const Tensor& target, double beta, float scale,
                   const Tensor& dx);
};

}  // namespace ringmaster::ops
