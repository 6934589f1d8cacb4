// conv_transpose2d CUDA kernels on cuDNN, through the convolution whose data
// gradient it is: a conv2d from y (N, O, OH, OW) to x (N, C, H, W) with our
// weights (C, O/G, KH, KW) as its filter. So the forward is cuDNN's backward
// data, the backward data is cuDNN's forward, the weight gradient is cuDNN's
// backward filter with x and dy in each other's roles, and the bias gradient
// is cuDNN's bias grad. Asymmetric padding: the full (unpadded) output is
// computed and cropped, and dy zero-padded back for the backward. f32 or f16
// (f32 accumulation); algorithms chosen once per shape as in conv2d.cu
// (cudnn_conv.h). output_padding needs nothing of its own: the extra rows
// are outputs no input reaches, which cuDNN's backward data writes as 0.
#include <array>
#include <memory>

#include "ops/conv_transpose2d.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/cudnn_conv.h"
#include "ops/cuda/plan_cache.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

struct DeconvPlan {
  bool explicit_pad = false;  // y is cropped from the unpadded result yp
  std::array<int64_t, 2> pad_begin{0, 0}, pad_end{0, 0};
  Shape x_shape, w_shape, y_shape;
  Shape yp_shape;  // (N, O, OH + pt + pb, OW + pl + pr) when explicit_pad, else y_shape
  DType dtype = DType::f32;
  // The convolution yp (N, O, ...) -> x (N, C, H, W) with filter (C, O/G, KH, KW).
  std::unique_ptr<cuda::CudnnConv> conv;
};

std::shared_ptr<DeconvPlan> make_plan(int device, DType dtype, const Shape& xs, const Shape& ws,
                                      const ConvTranspose2dParams& p, const Shape& ys,
                                      bool training) {
  auto plan = std::make_shared<DeconvPlan>();
  plan->dtype = dtype;
  plan->x_shape = xs;
  plan->w_shape = ws;
  plan->y_shape = ys;
  // The convolution's input is our output: it carries the padding.
  const cuda::PaddingSplit pad = cuda::split_padding(ys, p.padding_begin, p.padding_end);
  plan->explicit_pad = pad.explicit_pad;
  plan->pad_begin = p.padding_begin;
  plan->pad_end = p.padding_end;
  plan->yp_shape = pad.padded;
  plan->conv = std::make_unique<cuda::CudnnConv>(device, dtype, plan->yp_shape, ws, xs,
                                                 pad.cudnn_pad, p.stride, p.dilation, p.groups);
  plan->conv->plan_backward_data();  // our forward
  if (training) {
    plan->conv->plan_forward();          // our dx
    plan->conv->plan_backward_filter();  // our dw
  }
  return plan;
}

std::shared_ptr<DeconvPlan> plan_for(int device, DType dtype, const Shape& xs, const Shape& ws,
                                     const ConvTranspose2dParams& p, const Shape& ys,
                                     bool training) {
  cuda::PlanKey key = cuda::conv_plan_key(device, dtype, xs, p);
  key.insert(key.end(), {ws[1], ws[2], ws[3], p.output_padding[0], p.output_padding[1], ys[2],
                         ys[3], training});
  return cuda::plan_cache<DeconvPlan>().get(
      key, [&] { return make_plan(device, dtype, xs, ws, p, ys, training); });
}

struct CudaDeconvSaved : ConvTranspose2dSaved {
  std::shared_ptr<DeconvPlan> plan;
  Tensor x;  // (N, C, H, W)
  Tensor w;  // (C, O/G, KH, KW)
};

Tensor deconv_forward_cuda(const Tensor& x, const Tensor& w, const Tensor& b,
                           const ConvTranspose2dParams& p, const Shape& y_shape,
                           std::shared_ptr<ConvTranspose2dSaved>* saved) {
  const Device d = x.device();
  const DType t = x.dtype();
  cuda::set_device(d.index);
  std::shared_ptr<DeconvPlan> plan =
      plan_for(d.index, t, x.shape(), w.shape(), p, y_shape, saved != nullptr);
  Tensor yp = Tensor::empty(plan->yp_shape, t, d);
  plan->conv->backward_data(w.raw(), x.raw(), yp.raw());
  Tensor y = plan->explicit_pad ? cuda::crop(yp, plan->pad_begin, y_shape) : yp;
  cuda::add_bias_relu(y, b, false);
  if (saved != nullptr) {
    auto s = std::make_shared<CudaDeconvSaved>();
    s->plan = std::move(plan);
    s->x = x.detach();
    s->w = w.detach();
    *saved = std::move(s);
  }
  return y;
}

void deconv_backward_cuda(const ConvTranspose2dSaved& saved, const Tensor& dy, Tensor* dx,
                          Tensor* dw, Tensor* db) {
  const auto& s = static_cast<const CudaDeconvSaved&>(saved);
  const DeconvPlan& plan = *s.plan;
  const Device d = s.x.device();
  cuda::set_device(d.index);
  if (dx != nullptr || dw != nullptr) {
    // g: dy as the convolution's input, (N, O, OH', OW').
    const Tensor g = plan.explicit_pad ? cuda::zero_pad(dy, plan.pad_begin, plan.pad_end) : dy;
    if (dx != nullptr) {
      *dx = Tensor::empty(plan.x_shape, plan.dtype, d);
      plan.conv->forward(g.raw(), s.w.raw(), dx->raw());
    }
    if (dw != nullptr) {
      *dw = Tensor::empty(plan.w_shape, plan.dtype, d);
      plan.conv->backward_filter(g.raw(), s.x.raw(), dw->raw());
    }
  }
  if (db != nullptr) *db = cuda::bias_grad(dy);
}

}  // namespace

RM_REGISTER_KERNELS(ConvTranspose2dKernels, cuda, {deconv_forward_cuda, deconv_backward_cuda});

}  // namespace ringmaster::ops
