// Per-pixel softmax cross-entropy for segmentation (PyTorch's
// F.cross_entropy on (N, C, d1, ...) logits; ONNX SoftmaxCrossEntropyLoss
// with reduction "mean" and no weights):
//   loss = mean over n, s of -log softmax(logits[n, :, s])[labels[n, s]]
// logits: (N, C, d1, ..., dk) f32 (or f16 on a GPU: computed in f32, the loss
// f32, the gradient f16), k >= 1, any layout; labels: (N, d1, ...,
// dk) i64 or i32 in [0, C) (a label outside throws ops::Error naming the
// pixel). Returns a scalar (). Backward: (softmax - onehot) / (N * S) for the
// logits (plain), nothing for the labels. No class weights, no ignore_index.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor spatial_cross_entropy(const Tensor& logits, const Tensor& labels);

// Backend kernels on plain tensors viewed as logits (N, C, S), labels (N, S).
struct SpatialCrossEntropyKernels {
  // Fills probs (N, C, S) f32 with the softmax over C and loss () f32 with the mean;
  // returns the flat index n*S + s of a label outside [0, C), or -1.
  int64_t (*forward)(const Tensor& logits, const Tensor& labels, const Tensor& probs,
                     const Tensor& loss);
  // dlogits (N, C, S), in the logits' dtype, = (probs - onehot(labels)) * scale.
  void (*backward)(const Tensor& probs, const Tensor& labels, float scale, const Tensor& dlogits);
};

}  // namespace ringmaster::ops
