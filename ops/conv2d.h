// 2-d convolution (cross-correlation, as PyTorch and ONNX define it).
//   x: (N, C, H, W), w: (O, C/groups, KH, KW), b: (O) or undefined.
//   y: (N, O, OH, OW), OH = (H + pad_begin + pad_end - dilation*(KH-1) - 1) / stride + 1.
// dilation 1 means no dilation (PyTorch's convention). f32; on a GPU also
// f16 (x, w and b of one dtype; cuDNN accumulates in f32). fuse_relu applies
// max(y, 0) in the same pass (oneDNN post-op); its backward then masks dy by y > 0.
// On CPU the output stays in oneDNN's preferred blocked layout (e.g.
// nChw16c): the next oneDNN op consumes it without a reorder; to_plain()
// gives NCHW. Weights and bias (parameters) are plain, and so are their grads.
#pragma once

#include <array>
#include <memory>

#include "ops/tensor.h"

namespace ringmaster::ops {

struct Conv2dParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding_begin{0, 0};  // top, left
  std::array<int64_t, 2> padding_end{0, 0};    // bottom, right
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
  bool fuse_relu = false;

  static Conv2dParams same_padding(int64_t pad, int64_t stride = 1) {
    Conv2dParams p;
    p.stride = {stride, stride};
    p.padding_begin = {pad, pad};
    p.padding_end = {pad, pad};
    return p;
  }
};

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p);

// Output spatial size along one axis.
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                         int64_t pad_end, int64_t dilation);

// What a backend's forward keeps for its backward (cached primitives, the
// input and weights in the layouts it used, the output for fuse_relu). Each
// backend derives its own; the op only holds it. Immutable once made.
struct Conv2dSaved {
  virtual ~Conv2dSaved() = default;
};

// Backend kernels. The backend allocates y, because the layout is its choice.
// x: (N, C, H, W) any layout; w: (O, C/groups, KH, KW) plain; b: (O) plain or
// undefined. y_shape: (N, O, OH, OW), checked by the op. When saved is not
// null the forward prepares for training and fills *saved for backward.
// backward fills each of dx (x's shape, backend layout), dw and db (plain)
// whose pointer is not null.
struct Conv2dKernels {
  Tensor (*forward)(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p,
                    const Shape& y_shape, std::shared_ptr<Conv2dSaved>* saved);
  void (*backward)(const Conv2dSaved& saved, const Tensor& dy, Tensor* dx, Tensor* dw, Tensor* db);
};

}  // namespace ringmaster::ops
