// Pooling: device-independent part (parameter and shape checks, output size
// with PyTorch's ceil_mode rule, autograd). Kernels, output allocation and
// primitive caching: cpu/pool2d_cpu.cpp. No layout decisions here.
#include "ops/pool2d.h"

#include <algorithm>

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

Tensor pool2d(const Tensor& x, PoolKind kind, const Pool2dParams& p, const char* name) {
  RM_CHECK(x.defined() && x.ndim() == 4, name, " input must be (N, C, H, W), got ", to_string(x));
  RM_CHECK(is_compute_dtype(x), name, " needs f32 (or f16 on a GPU), got ", to_string(x));
  for (int i = 0; i < 2; ++i) {
    RM_CHECK(p.kernel[i] >= 1 && p.stride[i] >= 1 && p.dilation[i] >= 1, name,
             " kernel, stride and dilation must be >= 1, got ", p.kernel[i], ", ", p.stride[i],
             ", ", p.dilation[i]);
    RM_CHECK(p.padding_begin[i] >= 0 && p.padding_end[i] >= 0, name, " padding must be >= 0, got ",
             p.padding_begin[i], " and ", p.padding_end[i]);
    // Keeps every window on at least one real element.
    RM_CHECK(p.padding_begin[i] < p.kernel[i] && p.padding_end[i] < p.kernel[i], name,
             " padding must be smaller than the kernel, got padding ", p.padding_begin[i], "+",
             p.padding_end[i], " for kernel ", p.kernel[i]);
    RM_CHECK(kind == PoolKind::max || p.dilation[i] == 1, name, " has no dilation, got ",
             p.dilation[i]);
  }
  const int64_t oh = pool_output_size(x.dim(2), p.kernel[0], p.stride[0], p.padding_begin[0],
                                      p.padding_end[0], p.dilation[0], p.ceil_mode);
  const int64_t ow = pool_output_size(x.dim(3), p.kernel[1], p.stride[1], p.padding_begin[1],
                                      p.padding_end[1], p.dilation[1], p.ceil_mode);
  RM_CHECK(oh >= 1 && ow >= 1, name, " output would be empty: input ", shape_str(x.shape()),
           ", kernel ", p.kernel[0], "x", p.kernel[1], ", dilation ", p.dilation[0], "x",
           p.dilation[1]);
  const Shape y_shape{x.dim(0), x.dim(1), oh, ow};
  const Pool2dKernels& k = KernelTable<Pool2dKernels>::get().on(x.device(), name);
  if (!needs_grad({&x})) return k.forward(x, kind, p, y_shape, nullptr);
  std::shared_ptr<Pool2dSaved> saved;
  Tensor y = k.forward(x, kind, p, y_shape, &saved);
  return record(
      y,
      backward_node("Pool2dBackward",
                    [device = x.device(), saved = std::move(saved),
                     name](const Tensor& dy) -> std::vector<Tensor> {
                      return {
                          KernelTable<Pool2dKernels>::get().on(device, name).backward(*saved, dy)};
                    }),
      {x});
}

}  // namespace

int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad_begin,
                         int64_t pad_end, int64_t dilation, bool ceil_mode) {
  const int64_t span = dilation * (kernel - 1) + 1;      // extent of one window
  const int64_t room = in + pad_begin + pad_end - span;  // < 0: the window overhangs the input
  // PyTorch's rule, rounding down also below zero: in ceil mode a window
  // that overhangs the end by less than a stride still gives one output
  // (a 2x2/2 pool of a 1x1 map gives 1x1); floor mode then gives none.
  const int64_t num = ceil_mode ? room + stride - 1 : room;
  int64_t out = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
  // PyTorch/ONNX: a last window that would start in the end padding is dropped.
  if (ceil_mode && out > 0 && (out - 1) * stride >= in + pad_begin) --out;
  return std::max<int64_t>(out, 0);
}

Tensor max_pool2d(const Tensor& x, const Pool2dParams& p) {
  return pool2d(x, PoolKind::max, p, "max_pool2d");
}

Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p) {
  return pool2d(x, PoolKind::avg, p, "avg_pool2d");
}

Tensor global_avg_pool2d(const Tensor& x) {
  RM_CHECK(x.defined() && x.ndim() == 4, "global_avg_pool2d input must be (N, C, H, W), got ",
           to_string(x));
  Pool2dParams p;
  p.kernel = {x.dim(2), x.dim(3)};
  p.stride = {1, 1};
  return pool2d(x, PoolKind::avg, p, "global_avg_pool2d");
}

}  // namespace ringmaster::ops
