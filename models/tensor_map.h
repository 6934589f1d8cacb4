// Names for the two containers of named tensors used across models/: an
// ordered list (registration order, as a module enumerates its parameters)
// and a map sorted by name (a state dict, a loaded checkpoint). Types only.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ops/tensor.h"

namespace ringmaster::models {

using NamedTensors = std::vector<std::pair<std::string, ops::Tensor>>;
using TensorMap = std::map<std::string, ops::Tensor>;

}  // namespace ringmaster::models
