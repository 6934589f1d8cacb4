// conv2d CUDA kernels on cuDNN (legacy API): forward, backward data, backward
// filter and bias grad, with groups, stride and dilation; f32 with FMA math
// (no TF32), or f16 with f32 accumulation on tensor cores; planned once per
// shape and cached. f32 algorithms are measured by cuDNN's Find (each
// candidate run once on scratch buffers, as PyTorch's cudnn.benchmark does);
// f16 ones come from cuDNN's heuristics (v7). Measured on an H200
// (scripts/gpu-check.sh, 2026-11-28, ringmaster/PyTorch, PyTorch with
// cudnn.benchmark): Find took f32 DeepConvNet from 1.70 to 2.09 and f32
// ResNet-50 from 0.81 to 0.89, but f16 DeepConvNet from 1.83 down to 1.29 and
// f16 ResNet-50 from 1.00 to 0.84. Why f16 lost was not looked into (the
// session's device time was spent); the choice (cudnn_conv.cu) takes the
// first entry with tensor-core math, which under Find need not be the
// fastest entry. The cuDNN calls themselves are shared with
// conv_transpose2d.cu through cudnn_conv.h.
#include <array>
#include <memory>

#include "ops/conv2d.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/cudnn_conv.h"
#include "ops/cuda/float_types.cuh"
#include "ops/cuda/plan_cache.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

using cuda::load;
using cuda::store;

struct ConvPlan {
  bool explicit_pad = false;  // the input is padded by us, cuDNN pads nothing
  std::array<int64_t, 2> pad_begin{0, 0}, pad_end{0, 0};
  Shape x_shape, xp_shape;  // (N, C, H, W) as given, and as cuDNN sees it
  Shape w_shape, y_shape;
  DType dtype = DType::f32;
  bool fuse_relu = false;
  std::unique_ptr<cuda::CudnnConv> conv;  // on the padded input when explicit_pad
};

std::shared_ptr<ConvPlan> make_plan(int device, DType dtype, const Shape& xs, const Shape& ws,
                                    const Conv2dParams& p, const Shape& ys, bool training) {
  auto plan = std::make_shared<ConvPlan>();
  plan->dtype = dtype;
  plan->fuse_relu = p.fuse_relu;
  plan->x_shape = xs;
  plan->w_shape = ws;
  plan->y_shape = ys;
  const cuda::PaddingSplit pad = cuda::split_padding(xs, p.padding_begin, p.padding_end);
  plan->explicit_pad = pad.explicit_pad;
  plan->pad_begin = p.padding_begin;
  plan->pad_end = p.padding_end;
  plan->xp_shape = pad.padded;
  plan->conv = std::make_unique<cuda::CudnnConv>(device, dtype, plan->xp_shape, ws, ys,
                                                 pad.cudnn_pad, p.stride, p.dilation, p.groups);
  plan->conv->plan_forward();
  if (training) {
    plan->conv->plan_backward_data();
    plan->conv->plan_backward_filter();
  }
  return plan;
}

std::shared_ptr<ConvPlan> plan_for(int device, DType dtype, const Shape& xs, const Shape& ws,
                                   bool has_bias, const Conv2dParams& p, const Shape& ys,
                                   bool training) {
  cuda::PlanKey key = cuda::conv_plan_key(device, dtype, xs, p);
  key.insert(key.end(), {ws[0], ws[2], ws[3], p.fuse_relu, has_bias, training});
  return cuda::plan_cache<ConvPlan>().get(
      key, [&] { return make_plan(device, dtype, xs, ws, p, ys, training); });
}

// g = dy * (y > 0).
template <class T>
__global__ void relu_mask(const T* y, const T* dy, T* g, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    g[i] = load(y[i]) > 0.0f ? dy[i] : store<T>(0.0f);
}

struct CudaConv2dSaved : Conv2dSaved {
  std::shared_ptr<ConvPlan> plan;
  Tensor x;  // (N, C, H', W'): the input cuDNN read (padded when explicit_pad)
  Tensor w;  // (O, C/G, KH, KW)
  Tensor y;  // (N, O, OH, OW), for fuse_relu only
};

Tensor conv2d_forward_cuda(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p,
                           const Shape& y_shape, std::shared_ptr<Conv2dSaved>* saved) {
  const Device d = x.device();
  const DType t = x.dtype();
  cuda::set_device(d.index);
  std::shared_ptr<ConvPlan> plan =
      plan_for(d.index, t, x.shape(), w.shape(), b.defined(), p, y_shape, saved != nullptr);
  const Tensor xin = plan->explicit_pad ? cuda::zero_pad(x, plan->pad_begin, plan->pad_end) : x;
  Tensor y = Tensor::empty(y_shape, t, d);
  plan->conv->forward(xin.raw(), w.raw(), y.raw());
  cuda::add_bias_relu(y, b, p.fuse_relu);
  if (saved != nullptr) {
    auto s = std::make_shared<CudaConv2dSaved>();
    s->plan = std::move(plan);
    s->x = xin.detach();
    s->w = w.detach();
    if (p.fuse_relu) s->y = y.detach();
    *saved = std::move(s);
  }
  return y;
}

void conv2d_backward_cuda(const Conv2dSaved& saved, const Tensor& dy, Tensor* dx, Tensor* dw,
                          Tensor* db) {
  const auto& s = static_cast<const CudaConv2dSaved&>(saved);
  const ConvPlan& plan = *s.plan;
  const Device d = s.x.device();
  const DType t = plan.dtype;
  cuda::set_device(d.index);
  // g: dL/d(conv output before relu), (N, O, OH, OW).
  Tensor g = dy;
  if (plan.fuse_relu) {
    g = Tensor::empty(plan.y_shape, t, d);
    cuda::dispatch_float(t, [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      relu_mask<T><<<cuda::blocks_for(g.numel()), 256>>>(static_cast<const T*>(s.y.raw()),
                                                         static_cast<const T*>(dy.raw()),
                                                         static_cast<T*>(g.raw()), g.numel());
    });
    CUDA_CHECK_LAUNCH();
  }
  if (dx != nullptr) {
    Tensor dxp = Tensor::empty(plan.xp_shape, t, d);  // (N, C, H', W')
    plan.conv->backward_data(s.w.raw(), g.raw(), dxp.raw());
    *dx = plan.explicit_pad ? cuda::crop(dxp, plan.pad_begin, plan.x_shape) : dxp;
  }
  if (dw != nullptr) {
    *dw = Tensor::empty(plan.w_shape, t, d);
    plan.conv->backward_filter(s.x.raw(), g.raw(), dw->raw());
  }
  if (db != nullptr) *db = cuda::bias_grad(g);
}

}  // namespace

RM_REGISTER_KERNELS(Conv2dKernels, cuda, {conv2d_forward_cuda, conv2d_backward_cuda});

}  // namespace ringmaster::ops
