// Reference 2-d convolution (cross-correlation): plain loops in double over
// (N, C, H, W) input and (O, C/groups, KH, KW) weights, with stride, padding,
// dilation, groups, optional bias and fused relu. Forward only: tests
// differentiate it numerically. The test oracle, never the fast path.
#pragma once

#include "ops/conv2d.h"
#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

// b: (O), or an empty RefTensor (no shape) for no bias. Returns (N, O, OH, OW).
RefTensor conv2d(const RefTensor& x, const RefTensor& w, const RefTensor& b, const Conv2dParams& p);

}  // namespace ringmaster::ops::reference
