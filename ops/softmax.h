// softmax along one axis (numerically stable: max subtracted), and the fused
// softmax + cross-entropy loss used for classification.
//   softmax: x any shape (plain), y same shape; backward dx = y * (dy - sum(dy*y)).
//   softmax_cross_entropy: logits (N, C) f32, labels (N) i64 or i32 in [0, C);
//   returns the mean over N of -log softmax(logits)[label], shape (); its
//   backward is (softmax - onehot) / N times the incoming scalar gradient.
//   A label out of range throws ops::Error naming the row.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor softmax(const Tensor& x, int axis = -1);
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels);

}  // namespace ringmaster::ops
