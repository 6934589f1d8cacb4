// Reference relu: y = max(x, 0).
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor relu(const RefTensor& x);

}  // namespace ringmaster::ops::reference
