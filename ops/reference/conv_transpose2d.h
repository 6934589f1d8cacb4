// Reference 2-d transposed convolution: plain scatter loops in double over
// (N, C, H, W) input and PyTorch-layout (C, O/groups, KH, KW) weights, with
// stride, padding, output_padding, dilation, groups and optional bias.
// Forward only: tests differentiate it numerically. Never the fast path.
#pragma once

#include "ops/conv_transpose2d.h"
#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

// b: (O), or an empty RefTensor for no bias. Returns (N, O, OH, OW).
RefTensor conv_transpose2d(const RefTensor& x, const RefTensor& w, const RefTensor& b,
                           const ConvTranspose2dParams& p);

}  // namespace ringmaster::ops::reference
