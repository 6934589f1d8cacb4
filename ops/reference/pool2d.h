// Reference 2-d pooling over (N, C, H, W): max (with dilation), average
// (count_include_pad both ways) and global average, with PyTorch's ceil_mode
// rules. Plain loops in double; forward only (tests differentiate
// numerically). The test oracle, never the fast path.
#pragma once

#include "ops/pool2d.h"
#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor max_pool2d(const RefTensor& x, const Pool2dParams& p);
RefTensor avg_pool2d(const RefTensor& x, const Pool2dParams& p);
RefTensor global_avg_pool2d(const RefTensor& x);  // (N, C, 1, 1)

}  // namespace ringmaster::ops::reference
