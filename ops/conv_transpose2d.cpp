// conv_transpose2d: device-independent part (shape checks, output size,
// autograd). Kernels and primitive caching: cpu/conv_transpose2d_cpu.cpp,
// cuda/conv_transpose2d.cu.
#include "ops/conv_transpose2d.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"
#include "ops/weighted_backward.h"

namespace ringmaster::ops {
int64_t conv_transpose_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                                   int64_t pad_end, int64_t dilation, int64_t output_padding) {
  return (in - 1) * stride - pad_begin - pad_end + dilation * (kernel - 1) + output_padding + 1;
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b,
                        const ConvTranspose2dParams& p) {
  RM_CHECK(x.defined() && w.defined(), "conv_transpose2d needs an input and weights");
  RM_CHECK(x.ndim() == 4, "conv_transpose2d input must be (N, C, H, W), got ", to_string(x));
  RM_CHECK(w.ndim() == 4, "conv_transpose2d weights must be (C, O/groups, KH, KW), got ",
           to_string(w));
  RM_CHECK(is_compute_dtype(x) && w.dtype() == x.dtype(),
           "conv_transpose2d needs f32 (or f16 on a GPU) input and weights of one dtype, got ",
           to_string(x), " and ", to_string(w));
  RM_CHECK(x.device() == w.device(), "conv_transpose2d input on ", x.device().str(),
           ", weights on ", w.device().str());
  RM_CHECK(p.groups >= 1 && x.dim(1) % p.groups == 0, "conv_transpose2d groups ", p.groups,
           " must divide the input channels ", x.dim(1));
  RM_CHECK(w.dim(0) == x.dim(1), "conv_transpose2d weights ", shape_str(w.shape()), " expect ",
           w.dim(0), " input channels, input is ", shape_str(x.shape()));
  const int64_t c_out = w.dim(1) * p.groups;
  if (b.defined()) {
    RM_CHECK(b.ndim() == 1 && b.dim(0) == c_out && b.dtype() == x.dtype(),
             "conv_transpose2d bias must be ", dtype_name(x.dtype()), " (", c_out, "), got ",
             to_string(b));
    RM_CHECK(b.device() == x.device(), "conv_transpose2d bias on ", b.device().str(), ", input on ",
             x.device().str());
  }
  for (int i = 0; i < 2; ++i) {
    RM_CHECK(p.stride[i] >= 1 && p.dilation[i] >= 1,
             "conv_transpose2d stride and dilation must be >= 1, got ", p.stride[i], " and ",
             p.dilation[i]);
    RM_CHECK(p.padding_begin[i] >= 0 && p.padding_end[i] >= 0,
             "conv_transpose2d padding must be >= 0, got ", p.padding_begin[i], " and ",
             p.padding_end[i]);
    RM_CHECK(p.output_padding[i] >= 0 && p.output_padding[i] < p.stride[i],
             "conv_transpose2d output_padding must be in [0, stride), got ", p.output_padding[i],
             " with stride ", p.stride[i]);
  }
  const int64_t oh =
      conv_transpose_output_size(x.dim(2), w.dim(2), p.stride[0], p.padding_begin[0],
                                 p.padding_end[0], p.dilation[0], p.output_padding[0]);
  const int64_t ow =
      conv_transpose_output_size(x.dim(3), w.dim(3), p.stride[1], p.padding_begin[1],
                                 p.padding_end[1], p.dilation[1], p.output_padding[1]);
  RM_CHECK(oh >= 1 && ow >= 1, "conv_transpose2d output would be empty: input ",
           shape_str(x.shape()), ", kernel ", w.dim(2), "x", w.dim(3), ", padding (",
           p.padding_begin[0], "+", p.padding_end[0], ")x(", p.padding_begin[1], "+",
           p.padding_end[1], ")");

  const Shape y_shape{x.dim(0), c_out, oh, ow};
  const Tensor w_plain = w.to_plain();
  const Tensor b_plain = b.defined() ? b.to_plain() : b;
  const ConvTranspose2dKernels& k =
      KernelTable<ConvTranspose2dKernels>::get().on(x.device(), "conv_transpose2d");
  if (!needs_grad({&x, &w, &b})) return k.forward(x, w_plain, b_plain, p, y_shape, nullptr);
  std::shared_ptr<ConvTranspose2dSaved> saved;
  Tensor y = k.forward(x, w_plain, b_plain, p, y_shape, &saved);
  // inputs: x (N, C, H, W), w (C, O/groups, KH, KW), b (O) or undefined.
  return record(y,
                weighted_backward<ConvTranspose2dKernels>(
                    "ConvTranspose2dBackward", "conv_transpose2d", x.device(), std::move(saved)),
                {x, w, b});
}

}  // namespace ringmaster::ops
