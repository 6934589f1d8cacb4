// Reference masked sequence cross-entropy (see ops/sequence_cross_entropy.h).
#pragma once

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

// logits (..., V); `targets` in row-major order of the leading shape.
RefTensor sequence_cross_entropy(const RefTensor& logits, const std::vector<int64_t>& targets,
                                 int64_t pad_index);

}  // namespace ringmaster::ops::reference
