// Reference softmax along one axis and mean softmax cross-entropy, in double.
// Forward only. Labels are plain integers (RefTensor holds values, not ids).
#pragma once

#include <cstdint>
#include <vector>

#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

// axis may be negative (counts from the end).
RefTensor softmax(const RefTensor& x, int axis);
// logits (N, C), labels (N) in [0, C) -> () mean of -log softmax(logits)[label].
RefTensor softmax_cross_entropy(const RefTensor& logits, const std::vector<int64_t>& labels);

}  // namespace ringmaster::ops::reference
