// The optimizer a job spec's `optimizer` section asks for, over the given
// parameters: what the trainer steps, and what a parameter-server shard steps
// for a job's tensors.
#pragma once

#include <memory>

#include "models/job_spec.h"
#include "models/module.h"
#include "models/optimizer.h"

namespace ringmaster::models {

// SGD (momentum, Nesterov, weight decay), Adam or AdamW with the spec's
// settings. Throws ops::Error for an unknown name.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& spec, NamedTensors params);

}  // namespace ringmaster::models
