// Reference concatenation along one axis (negative counts from the end).
// Forward only.
#pragma once

#include <vector>

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor concat(const std::vector<RefTensor>& xs, int axis);

}  // namespace ringmaster::ops::reference
