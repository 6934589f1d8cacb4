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

// A blocked input is made plain first; outputs and gradients are plain.
Tensor softmax(const Tensor& x, int axis = -1);
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels);

// Backend kernels; every tensor plain, axis in [0, ndim).
struct SoftmaxKernels {
  void (*forward)(const Tensor& x, int axis, const Tensor& y);
  void (*backward)(const Tensor& y, const Tensor& dy, int axis, const Tensor& dx);
  // logits (N, C), labels (N) i32 or i64 -> probs (N, C) and loss () (the
  // mean). Returns the first row whose label is outside [0, C) (then probs
  // and loss are unspecified), or -1.
  int64_t (*cross_entropy_forward)(const Tensor& logits, const Tensor& labels, const Tensor& probs,
                                   const Tensor& loss);
  // dlogits (N, C) = (probs - onehot(labels)) * dloss / N; dloss: ().
  void (*cross_entropy_backward)(const Tensor& probs, const Tensor& labels, const Tensor& dloss,
                                 const Tensor& dlogits);
};

}  // namespace ringmaster::ops
