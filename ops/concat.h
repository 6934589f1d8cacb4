// Concatenation along one axis (axis 1, channels, for inception modules).
// All inputs share every other dimension; output is plain.
#pragma once

#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor concat(const std::vector<Tensor>& xs, int axis = 1);

}  // namespace ringmaster::ops
