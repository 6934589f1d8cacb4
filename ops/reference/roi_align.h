// Reference roi_align (see ops/roi_align.h), in double: each bin the mean of
// its bilinear samples, written from the definition (not from the kernels'
// shared geometry).
#pragma once

#include "ops/reference/ref_tensor.h"
#include "ops/roi_align.h"

namespace ringmaster::ops::reference {

// x (N, C, H, W); boxes (K, 4); batch: K image indices.
RefTensor roi_align(const RefTensor& x, const RefTensor& boxes, const std::vector<int64_t>& batch,
                    const RoiAlignParams& p);

}  // namespace ringmaster::ops::reference
