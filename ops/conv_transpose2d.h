// 2-d transposed convolution ("deconvolution"), as PyTorch's ConvTranspose2d
// and ONNX's ConvTranspose define it: the gradient of conv2d with respect to
// its input, plus a bias.
//   x: (N, C, H, W), w: (C, O/groups, KH, KW) (PyTorch's layout), b: (O) or undefined.
//   y: (N, O, OH, OW), OH = (H - 1)*stride - pad_begin - pad_end + dilation*(KH - 1)
//                           + output_padding + 1.
// output_padding adds rows/columns at the bottom/right and must be < stride
// (PyTorch also allows < dilation; we do not). dilation 1 means none. f32;
// on a GPU also f16 (x, w and b of one dtype; cuDNN accumulates in f32). On CPU
// the output stays in oneDNN's preferred blocked layout; weights, bias and
// their gradients are plain. No fused activation.
#pragma once

#include <array>
#include <memory>

#include "ops/tensor.h"

namespace ringmaster::ops {

struct ConvTranspose2dParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding_begin{0, 0};   // top, left
  std::array<int64_t, 2> padding_end{0, 0};     // bottom, right
  std::array<int64_t, 2> output_padding{0, 0};  // extra bottom, right
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;

  static ConvTranspose2dParams symmetric(int64_t stride, int64_t pad, int64_t output_padding = 0) {
    ConvTranspose2dParams p;
    p.stride = {stride, stride};
    p.padding_begin = p.padding_end = {pad, pad};
    p.output_padding = {output_padding, output_padding};
    return p;
  }
};

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b,
                        const ConvTranspose2dParams& p);

// Output spatial size along one axis (may be <= 0 for impossible settings).
int64_t conv_transpose_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                                   int64_t pad_end, int64_t dilation, int64_t output_padding);

// What a backend's forward keeps for its backward. Immutable once made.
struct ConvTranspose2dSaved {
  virtual ~ConvTranspose2dSaved() = default;
};

// Backend kernels. The backend allocates y (its layout). x: (N, C, H, W) any
// layout; w: (C, O/groups, KH, KW) plain; b: (O) plain or undefined; y_shape
// checked by the op. backward fills dx (x's shape, backend layout), dw and db
// (plain) where the pointer is not null.
struct ConvTranspose2dKernels {
  Tensor (*forward)(const Tensor& x, const Tensor& w, const Tensor& b,
                    const ConvTranspose2dParams& p, const Shape& y_shape,
                    std::shared_ptr<ConvTranspose2dSaved>* saved);
  void (*backward)(const ConvTranspose2dSaved& saved, const Tensor& dy, Tensor* dx, Tensor* dw,
                   Tensor* db);
};

}  // namespace ringmaster::ops
