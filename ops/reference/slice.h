// Reference slice along one axis (step 1): an element-by-element copy by
// multi-index. Forward only. Never the fast path.
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor slice(const RefTensor& x, int axis, int64_t start, int64_t end);

}  // namespace ringmaster::ops::reference
