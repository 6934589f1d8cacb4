// The optimizer a job spec's `optimizer` section asks for, over the given
// parameters: what the trainer steps, and what a parameter-server shard steps
// for a job's tensors.
#pragma once

#include <memory>

#include "models/module.h"
#include "training/job_spec.h"
#include "training/optimizer.h"

namespace ringmaster::training {

// SGD (momentum, Nesterov, weight decay), Adam or AdamW with the spec's
// settings. (The spec parser refused any other name.)
std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& spec, NamedTensors params);

}  // namespace ringmaster::training
