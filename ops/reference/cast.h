// Reference cast: the values rounded to `to` (f16: nearest even, through the
// scalar converter) and back to double. Forward only.
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor cast(const RefTensor& x, DType to);

}  // namespace ringmaster::ops::reference
