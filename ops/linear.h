// Fully connected layer: y = x w^T + b.
//   x: (N, in) (a 4-d x is flattened from dim 1), w: (out, in), b: (out) or undefined.
//   y: (N, out), plain. fuse_relu applies max(y, 0) in the same pass.
// x may be blocked (a conv output): it is consumed in its layout, without a
// reorder, and its gradient comes back in that layout. w, b and their grads are plain.
// f32; on a GPU also f16 (x, w, b of one dtype; cuBLAS accumulates in f32).
#pragma once

#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, bool fuse_relu = false);

// Backend kernels. x: (N, d1, ...) in any layout, in = d1 * ...; w: (out, in)
// plain; b, db: (out) plain or undefined; y, dy: (N, out) plain.
struct LinearKernels {
  // y = x w^T + b, then max(y, 0) when fuse_relu.
  void (*forward)(const Tensor& x, const Tensor& w, const Tensor& b, bool fuse_relu,
                  const Tensor& y);
  // dx = dy w, written in dx's layout (x's shape).
  void (*backward_data)(const Tensor& dy, const Tensor& w, const Tensor& dx);
  // dw = dy^T x (out, in); db = sum over N of dy (skipped when db is undefined).
  void (*backward_weights)(const Tensor& x, const Tensor& dy, const Tensor& dw, const Tensor& db);
};

}  // namespace ringmaster::ops
