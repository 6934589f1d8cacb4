// Reference element-wise a + b of equal shapes, in double. Forward only; no
// broadcasting.
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor add(const RefTensor& a, const RefTensor& b);

}  // namespace ringmaster::ops::reference
