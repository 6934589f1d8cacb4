// Reference embedding: out[i, :] = weight[indices[i], :] (see ops/embedding.h).
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

// weight (V, D); `indices` in row-major order of `index_shape`.
RefTensor embedding(const RefTensor& weight, const std::vector<int64_t>& indices,
                    const Shape& index_shape);

}  // namespace ringmaster::ops::reference
