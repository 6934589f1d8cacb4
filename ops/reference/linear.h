// Reference linear: y = x.flatten(1) w^T + b, optionally max(y, 0).
// b with no values means no bias. Forward only (tests differentiate it numerically).
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

// x: (N, ...), w: (out, in), b: (out) or empty; y: (N, out).
RefTensor linear(const RefTensor& x, const RefTensor& w, const RefTensor& b, bool relu = false);

}  // namespace ringmaster::ops::reference
