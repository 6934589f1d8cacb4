// Reference smooth_l1_loss and bce_with_logits (see ops/smooth_l1.h and
// ops/bce_with_logits.h), in double, from their definitions: the piecewise
// Huber form, and -(t log p + (1 - t) log(1 - p)) with p = 1 / (1 + e^-x)
// (fine for the moderate logits the tests give it; the op's own stable form
// is tested at extreme logits separately). Scalars () holding the mean or sum.
#pragma once

#include "ops/loss_reduction.h"
#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor smooth_l1_loss(const RefTensor& x, const RefTensor& target, double beta,
                         LossReduction reduction);
RefTensor bce_with_logits(const RefTensor& x, const RefTensor& targets, LossReduction reduction);

}  // namespace ringmaster::ops::reference
