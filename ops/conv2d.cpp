// conv2d: device-independent part (shape checks, output size, autograd).
// Kernels, output allocation and primitive caching: cpu/conv2d_cpu.cpp.
// No layout decisions here: the backend picks the output layout.
#include "ops/conv2d.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"
#include "ops/weighted_backward.h"

namespace ringmaster::ops {
int64_t conv_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                         int64_t pad_end, int64_t dilation) {
  const int64_t span = dilation * (kernel - 1) + 1;  // receptive field of one output
  const int64_t padded = in + pad_begin + pad_end;
  if (padded < span) return 0;
  return (padded - span) / stride + 1;
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
  RM_CHECK(x.defined() && w.defined(), "conv2d needs an input and weights");
  RM_CHECK(x.ndim() == 4, "conv2d input must be (N, C, H, W), got ", to_string(x));
  RM_CHECK(w.ndim() == 4, "conv2d weights must be (O, C/groups, KH, KW), got ", to_string(w));
  RM_CHECK(is_compute_dtype(x) && w.dtype() == x.dtype(),
           "conv2d needs f32 (or f16 on a GPU) input and weights of one dtype, got ", to_string(x),
           " and ", to_string(w));
  RM_CHECK(x.device() == w.device(), "conv2d input on ", x.device().str(), ", weights on ",
           w.device().str());
  RM_CHECK(p.groups >= 1, "conv2d groups must be >= 1, got ", p.groups);
  const int64_t c_in = x.dim(1), c_out = w.dim(0);
  RM_CHECK(c_in % p.groups == 0 && c_out % p.groups == 0, "conv2d groups ", p.groups,
           " must divide input channels ", c_in, " and output channels ", c_out);
  RM_CHECK(w.dim(1) * p.groups == c_in, "conv2d weights ", shape_str(w.shape()), " expect ",
           w.dim(1) * p.groups, " input channels with groups ", p.groups, ", input is ",
           shape_str(x.shape()));
  if (b.defined()) {
    RM_CHECK(b.ndim() == 1 && b.dim(0) == c_out && b.dtype() == x.dtype(), "conv2d bias must be ",
             dtype_name(x.dtype()), " (", c_out, "), got ", to_string(b));
    RM_CHECK(b.device() == x.device(), "conv2d bias on ", b.device().str(), ", input on ",
             x.device().str());
  }
  for (int i = 0; i < 2; ++i) {
    RM_CHECK(p.stride[i] >= 1 && p.dilation[i] >= 1,
             "conv2d stride and dilation must be >= 1, got ", p.stride[i], " and ", p.dilation[i]);
    RM_CHECK(p.padding_begin[i] >= 0 && p.padding_end[i] >= 0, "conv2d padding must be >= 0, got ",
             p.padding_begin[i], " and ", p.padding_end[i]);
  }
  const int64_t oh = conv_output_size(x.dim(2), w.dim(2), p.stride[0], p.padding_begin[0],
                                      p.padding_end[0], p.dilation[0]);
  const int64_t ow = conv_output_size(x.dim(3), w.dim(3), p.stride[1], p.padding_begin[1],
                                      p.padding_end[1], p.dilation[1]);
  RM_CHECK(oh >= 1 && ow >= 1, "conv2d output would be empty: input ", shape_str(x.shape()),
           ", kernel ", w.dim(2), "x", w.dim(3), ", dilation ", p.dilation[0], "x", p.dilation[1],
           ", padding (", p.padding_begin[0], "+", p.padding_end[0], ")x(", p.padding_begin[1], "+",
           p.padding_end[1], ")");

  const Shape y_shape{x.dim(0), c_out, oh, ow};
  // Parameters are plain already; to_plain() is then a no-op.
  const Tensor w_plain = w.to_plain();
  const Tensor b_plain = b.defined() ? b.to_plain() : b;
  const Conv2dKernels& k = KernelTable<Conv2dKernels>::get().on(x.device(), "conv2d");
  if (!needs_grad({&x, &w, &b})) return k.forward(x, w_plain, b_plain, p, y_shape, nullptr);
  std::shared_ptr<Conv2dSaved> saved;
  Tensor y = k.forward(x, w_plain, b_plain, p, y_shape, &saved);
  // inputs: x (N, C, H, W), w (O, C/groups, KH, KW), b (O) or undefined.
  return record(
      y, weighted_backward<Conv2dKernels>("Conv2dBackward", "conv2d", x.device(), std::move(saved)),
      {x, w, b});
}

}  // namespace ringmaster::ops
