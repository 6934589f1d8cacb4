// bce_with_logits: binary cross-entropy on logits (PyTorch's
// F.binary_cross_entropy_with_logits, the RPN's objectness loss): per
// element -(t log sigmoid(x) + (1 - t) log(1 - sigmoid(x))), computed as
// max(x, 0) - x t + log(1 + exp(-|x|)) so that no logit overflows; folded
// by their mean or sum into a scalar (). x and targets f32 of one shape on
// one device (targets in [0, 1] are probabilities; others are used as
// given). Backward into x only: sigmoid(x) - t (over the count for the
// mean). The terms are added in double.
#pragma once

#include "ops/loss_reduction.h"
#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor bce_with_logits(const Tensor& x, const Tensor& targets,
                       LossReduction reduction = LossReduction::kMean);

struct BceWithLogitsKernels {
  void (*forward)(const Tensor& x, const Tensor& targets, double divisor, const Tensor& loss);
  void (*backward)(const Tensor& x, const Tensor& targets, float scale, const Tensor& dx);
};

}  // namespace ringmaster::ops
