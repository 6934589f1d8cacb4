// The masked cross-entropy of sequence models (captions, language models):
// logits (..., V) f32, targets of the leading shape (i64 or i32, on logits'
// device); the mean, over the positions whose target is not pad_index, of
// -log softmax(logits)[target]. Pads count nothing: no loss and a zero
// gradient (PyTorch's ignore_index, ONNX SoftmaxCrossEntropyLoss's
// ignore_index with the mean). A target outside [0, V) other than
// pad_index throws ops::Error naming its position and value, and so do
// targets that are all pads (a mean over nothing).
//
// Built from embedding (the kept rows, gathered with autograd) and
// softmax_cross_entropy, so it runs on every device they do; the targets are
// read on the host (a copy when they are on a GPU).
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& targets, int64_t pad_index);

}  // namespace ringmaster::ops
