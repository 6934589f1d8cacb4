// Reference local response normalisation across channels (see ops/lrn.h),
// in double. Forward only. Never the fast path.
#pragma once

#include "ops/lrn.h"
#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor local_response_norm(const RefTensor& x, const LrnParams& p);

}  // namespace ringmaster::ops::reference
