// Reference reshape: the same values in row-major order under a new shape
// (one -1 inferred). Forward only.
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor reshape(const RefTensor& x, const Shape& shape);

}  // namespace ringmaster::ops::reference
