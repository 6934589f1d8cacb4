// make_optimizer from an OptimizerSpec (see header).
#include "training/spec_optimizer.h"

#include "ops/check.h"

namespace ringmaster::training {

std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& o, NamedTensors params) {
  if (o.name == OptimizerKind::kSgd) {
    SGDOptions s;
    s.lr = o.lr;
    s.momentum = o.momentum;
    s.nesterov = o.nesterov;
    s.weight_decay = o.weight_decay;
    return std::make_unique<SGD>(std::move(params), s);
  }
  AdamOptions a;
  a.lr = o.lr;
  a.beta1 = o.beta1;
  a.beta2 = o.beta2;
  a.eps = o.eps;
  a.weight_decay = o.weight_decay;
  if (o.name == OptimizerKind::kAdamW) return std::make_unique<AdamW>(std::move(params), a);
  return std::make_unique<Adam>(std::move(params), a);
}

}  // namespace ringmaster::training
