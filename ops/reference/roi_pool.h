// Reference roi_pool (see ops/roi_pool.h): each bin's maximum in double,
// the cells of a bin written from torchvision's definition (its geometry in
// float, as torchvision computes it, so that the cells agree exactly).
#pragma once

#include "ops/reference/ref_tensor.h"
#include "ops/roi_pool.h"

namespace ringmaster::ops::reference {

// x (N, C, H, W); boxes (K, 4); batch: K image indices.
RefTensor roi_pool(const RefTensor& x, const RefTensor& boxes, const std::vector<int64_t>& batch,
                   const RoiPoolParams& p);

}  // namespace ringmaster::ops::reference
