// Reference element-wise a + b of equal shapes. Forward only.
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor add(const RefTensor& a, const RefTensor& b);

}  // namespace ringmaster::ops::reference
