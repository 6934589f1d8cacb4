// optimizer.clip_grad_norm (torch.nn.utils.clip_grad_norm_): when the L2
// norm of all the gradients together exceeds max_norm, every gradient is
// scaled by max_norm / (norm + 1e-6), keeping its direction. Applied to the
// gradients the optimizer steps on: after a data-parallel all-reduce (so
// every rank clips alike) and after fp16 unscaling.
#pragma once

#include "training/optimizer.h"

namespace ringmaster::training {

// Clips the grads of opt's parameters in place; returns the norm before.
// A non-finite norm leaves them as they are (fp16 skips such a step anyway).
double clip_grad_norm(const Optimizer& opt, double max_norm);

}  // namespace ringmaster::training
