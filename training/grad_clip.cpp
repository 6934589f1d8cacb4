// clip_grad_norm (see grad_clip.h).
#include "training/grad_clip.h"

#include <cmath>

#include "ops/optimizer_update.h"

namespace ringmaster::training {

double clip_grad_norm(const Optimizer& opt, double max_norm) {
  const std::vector<ops::Tensor> grads = opt.plain_grads();
  const double norm = ops::grad_norm(grads);
  if (std::isfinite(norm) && norm > max_norm)
    ops::unscale_grads(grads, static_cast<float>(max_norm / (norm + 1e-6)));
  return norm;
}

}  // namespace ringmaster::training
