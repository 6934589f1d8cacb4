// embedding(weight, indices, padding_idx): a lookup table. weight (V, D) f32,
// indices of any shape (i64 or i32, plain, on weight's device) -> (..., D):
// out[i, :] = weight[indices[i], :]. padding_idx in [0, V), or -1 for none:
// its row is looked up like any other but gets no gradient (PyTorch's
// nn.Embedding), so a pad token's vector stays as initialised. An index
// outside [0, V) throws ops::Error naming its position and value (on a GPU
// the check waits for the device). Backward: dweight[v, :] = sum of the dy
// rows whose index is v (v != padding_idx); indices get none. On the CPU the
// sum runs in index order (deterministic); on a GPU with atomic adds.
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx = -1);

// Backend kernels; tensors are plain. n = indices.numel(), D = weight.dim(1).
struct EmbeddingKernels {
  // The smallest flat position whose index is outside [0, rows), or -1.
  int64_t (*first_outside)(const Tensor& indices, int64_t rows);
  // y (n, D) = weight[indices].
  void (*forward)(const Tensor& weight, const Tensor& indices, const Tensor& y);
  // dweight (V, D), overwritten: the dy (n, D) rows summed by index, the
  // padding row (>= 0) left at zero.
  void (*backward)(const Tensor& dy, const Tensor& indices, int64_t padding_idx,
                   const Tensor& dweight);
};

}  // namespace ringmaster::ops
