// Reference per-pixel softmax cross-entropy (see ops/spatial_cross_entropy.h)
// in double: logits (N, C, d1, ...), labels as doubles (N, d1, ...). Returns
// a one-element RefTensor. Forward only. Never the fast path.
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor spatial_cross_entropy(const RefTensor& logits, const RefTensor& labels);

}  // namespace ringmaster::ops::reference
