// Reference dropout over a plain tensor: y = x * keep(seed, i) / (1 - p),
// with the mask function from ops/dropout.h. Forward only, training mode.
#pragma once

#include <cstdint>

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor dropout(const RefTensor& x, float p, uint64_t seed);

}  // namespace ringmaster::ops::reference
