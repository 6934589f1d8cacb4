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
// session's device time was spent); choose() below takes the first entry
// with tensor-core math, which under Find need not be the fastest entry.
#include <array>
#include <map>
#include <mutex>

#include "ops/conv2d.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

constexpr size_t kMaxWorkspace = size_t(1) << 30;  // bytes; algorithms needing more are skipped

using cuda::load;
using cuda::store;

struct ConvPlan {
  int device = 0;
  bool explicit_pad = false;  // the input is padded by us, cuDNN pads nothing
  std::array<int64_t, 2> pad_begin{0, 0}, pad_end{0, 0};
  Shape x_shape, xp_shape;  // (N, C, H, W) as given, and as cuDNN sees it
  Shape w_shape, y_shape;
  bool has_bias = false, fuse_relu = false, training = false;
  DType dtype = DType::f32;
  cudnnMathType_t wanted_math = CUDNN_FMA_MATH;  // f32: FMA; f16: tensor cores

  cuda::TensorDesc x_desc, y_desc, b_desc;
  cudnnFilterDescriptor_t w_desc = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnConvolutionFwdAlgo_t fwd_algo{};
  size_t fwd_ws = 0;
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo{};
  size_t bwd_data_ws = 0;
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo{};
  size_t bwd_filter_ws = 0;
  // The math type each call needs: wanted_math unless cuDNN offered no such
  // algorithm for a call; only then is the descriptor switched per call.
  cudnnMathType_t fwd_math = CUDNN_FMA_MATH, bwd_data_math = CUDNN_FMA_MATH,
                  bwd_filter_math = CUDNN_FMA_MATH;
  void use_math(cudnnMathType_t m) const {
    if (fwd_math != bwd_data_math || fwd_math != bwd_filter_math)
      CUDNN_CHECK(cudnnSetConvolutionMathType(conv, m));
  }

  ConvPlan() = default;
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;
  ~ConvPlan() {
    if (w_desc != nullptr) cudnnDestroyFilterDescriptor(w_desc);
    if (conv != nullptr) cudnnDestroyConvolutionDescriptor(conv);
  }
};

// The first successful result with the wanted math type (f32: FMA, full
// fp32; f16: tensor cores) that fits the workspace limit; failing that, the
// first successful one (its math type is then set on the descriptor).
// Aborts when cuDNN offers nothing.
template <class Perf>
const Perf& choose(const Perf* perf, int count, cudnnMathType_t wanted, const char* what) {
  const Perf* fallback = nullptr;
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > kMaxWorkspace) continue;
    if (perf[i].mathType == wanted) return perf[i];
    if (fallback == nullptr) fallback = &perf[i];
  }
  RM_CHECK(fallback != nullptr, "cuDNN has no ", what, " algorithm for this convolution");
  return *fallback;
}

std::shared_ptr<ConvPlan> make_plan(int device, DType dtype, const Shape& xs, const Shape& ws,
                                    bool has_bias, const Conv2dParams& p, const Shape& ys,
                                    bool training) {
  auto plan = std::make_shared<ConvPlan>();
  plan->device = device;
  plan->dtype = dtype;
  const cudnnMathType_t want = dtype == DType::f16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
  plan->wanted_math = plan->fwd_math = plan->bwd_data_math = plan->bwd_filter_math = want;
  plan->x_shape = xs;
  plan->w_shape = ws;
  plan->y_shape = ys;
  plan->has_bias = has_bias;
  plan->fuse_relu = p.fuse_relu;
  plan->training = training;
  plan->explicit_pad =
      p.padding_begin[0] != p.padding_end[0] || p.padding_begin[1] != p.padding_end[1];
  plan->pad_begin = p.padding_begin;
  plan->pad_end = p.padding_end;
  plan->xp_shape = xs;
  int pad_h = static_cast<int>(p.padding_begin[0]), pad_w = static_cast<int>(p.padding_begin[1]);
  if (plan->explicit_pad) {
    plan->xp_shape[2] += p.padding_begin[0] + p.padding_end[0];
    plan->xp_shape[3] += p.padding_begin[1] + p.padding_end[1];
    pad_h = pad_w = 0;
  }
  const Shape& xp = plan->xp_shape;
  plan->x_desc.set(xp[0], xp[1], xp[2], xp[3], dtype);
  plan->y_desc.set(ys[0], ys[1], ys[2], ys[3], dtype);
  plan->b_desc.set(1, ys[1], 1, 1, dtype);
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&plan->w_desc));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(plan->w_desc, cuda::cudnn_type(dtype), CUDNN_TENSOR_NCHW,
                                         cuda::to_int(ws[0], "O"), cuda::to_int(ws[1], "C/G"),
                                         cuda::to_int(ws[2], "KH"), cuda::to_int(ws[3], "KW")));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&plan->conv));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
      plan->conv, pad_h, pad_w, cuda::to_int(p.stride[0], "stride"),
      cuda::to_int(p.stride[1], "stride"), cuda::to_int(p.dilation[0], "dilation"),
      cuda::to_int(p.dilation[1], "dilation"), CUDNN_CROSS_CORRELATION,
      CUDNN_DATA_FLOAT));  // f32 accumulation for f16 too
  CUDNN_CHECK(cudnnSetConvolutionGroupCount(plan->conv, cuda::to_int(p.groups, "groups")));
  CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, want));
  int n = 0, c = 0, h = 0, w = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(plan->conv, plan->x_desc.get(), plan->w_desc,
                                                    &n, &c, &h, &w));
  RM_CHECK(n == ys[0] && c == ys[1] && h == ys[2] && w == ys[3], "cuDNN's conv output (", n, ", ",
           c, ", ", h, ", ", w, ") differs from ", shape_str(ys));

  cudnnHandle_t handle = cuda::cudnn(device);
  const bool measure = dtype == DType::f32;
  const auto find_fwd =
      measure ? cudnnFindConvolutionForwardAlgorithm : cudnnGetConvolutionForwardAlgorithm_v7;
  const auto find_bwd_data = measure ? cudnnFindConvolutionBackwardDataAlgorithm
                                     : cudnnGetConvolutionBackwardDataAlgorithm_v7;
  const auto find_bwd_filter = measure ? cudnnFindConvolutionBackwardFilterAlgorithm
                                       : cudnnGetConvolutionBackwardFilterAlgorithm_v7;
  constexpr int kMax = 16;
  int got = 0;
  {
    cudnnConvolutionFwdAlgoPerf_t perf[kMax];
    CUDNN_CHECK(find_fwd(handle, plan->x_desc.get(), plan->w_desc, plan->conv, plan->y_desc.get(),
                         kMax, &got, perf));
    const auto& best = choose(perf, got, want, "forward");
    plan->fwd_algo = best.algo;
    plan->fwd_math = best.mathType;
    CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, best.mathType));
    CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle, plan->x_desc.get(), plan->w_desc,
                                                        plan->conv, plan->y_desc.get(),
                                                        plan->fwd_algo, &plan->fwd_ws));
  }
  if (!training) return plan;
  {
    CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, want));
    cudnnConvolutionBwdDataAlgoPerf_t perf[kMax];
    CUDNN_CHECK(find_bwd_data(handle, plan->w_desc, plan->y_desc.get(), plan->conv,
                              plan->x_desc.get(), kMax, &got, perf));
    const auto& best = choose(perf, got, want, "backward data");
    plan->bwd_data_algo = best.algo;
    plan->bwd_data_math = best.mathType;
    CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, best.mathType));
    CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
        handle, plan->w_desc, plan->y_desc.get(), plan->conv, plan->x_desc.get(),
        plan->bwd_data_algo, &plan->bwd_data_ws));
  }
  {
    CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, want));
    cudnnConvolutionBwdFilterAlgoPerf_t perf[kMax];
    CUDNN_CHECK(find_bwd_filter(handle, plan->x_desc.get(), plan->y_desc.get(), plan->conv,
                                plan->w_desc, kMax, &got, perf));
    const auto& best = choose(perf, got, want, "backward filter");
    plan->bwd_filter_algo = best.algo;
    plan->bwd_filter_math = best.mathType;
    CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, best.mathType));
    CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
        handle, plan->x_desc.get(), plan->y_desc.get(), plan->conv, plan->w_desc,
        plan->bwd_filter_algo, &plan->bwd_filter_ws));
  }
  // Left set for the forward; use_math switches per call only when needed.
  CUDNN_CHECK(cudnnSetConvolutionMathType(plan->conv, plan->fwd_math));
  return plan;
}

std::shared_ptr<ConvPlan> plan_for(int device, DType dtype, const Shape& xs, const Shape& ws,
                                   bool has_bias, const Conv2dParams& p, const Shape& ys,
                                   bool training) {
  using Key = std::array<int64_t, 21>;
  const Key key{device,
                static_cast<int64_t>(dtype),
                xs[0],
                xs[1],
                xs[2],
                xs[3],
                ws[0],
                ws[2],
                ws[3],
                p.stride[0],
                p.stride[1],
                p.padding_begin[0],
                p.padding_begin[1],
                p.padding_end[0],
                p.padding_end[1],
                p.dilation[0],
                p.dilation[1],
                p.groups,
                p.fuse_relu,
                has_bias,
                training};
  static std::mutex mu;
  static std::map<Key, std::shared_ptr<ConvPlan>>* cache =
      new std::map<Key, std::shared_ptr<ConvPlan>>();  // leaked: descriptors outlive cuDNN
  std::lock_guard<std::mutex> lock(mu);
  std::shared_ptr<ConvPlan>& slot = (*cache)[key];
  if (!slot) slot = make_plan(device, dtype, xs, ws, has_bias, p, ys, training);
  return slot;
}

// xp (N, C, H + pt + pb, W + pl + pr) = x zero-padded.
template <class T>
__global__ void pad_kernel(const T* x, T* xp, int64_t nc, int64_t h, int64_t w, int64_t hp,
                           int64_t wp, int64_t pt, int64_t pl) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < nc * hp * wp;
       k += int64_t(blockDim.x) * gridDim.x) {
    const int64_t j = k % wp, i = (k / wp) % hp, plane = k / (wp * hp);
    const int64_t si = i - pt, sj = j - pl;
    xp[k] =
        (si >= 0 && si < h && sj >= 0 && sj < w) ? x[(plane * h + si) * w + sj] : store<T>(0.0f);
  }
}

// dx (N, C, H, W) = the interior of dxp (N, C, H + pt + pb, W + pl + pr).
template <class T>
__global__ void crop_kernel(const T* dxp, T* dx, int64_t nc, int64_t h, int64_t w, int64_t hp,
                            int64_t wp, int64_t pt, int64_t pl) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < nc * h * w;
       k += int64_t(blockDim.x) * gridDim.x) {
    const int64_t j = k % w, i = (k / w) % h, plane = k / (w * h);
    dx[k] = dxp[(plane * hp + i + pt) * wp + j + pl];
  }
}

// y (N, O, HW) += b[o]; then max(y, 0) when relu.
template <class T>
__global__ void bias_relu_nchw(T* y, const T* b, int64_t total, int64_t o, int64_t hw, bool relu) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(blockDim.x) * gridDim.x) {
    float v = load(y[k]);
    if (b != nullptr) v += load(b[(k / hw) % o]);
    y[k] = store<T>(relu ? (v > 0.0f ? v : 0.0f) : v);
  }
}

// g = dy * (y > 0).
template <class T>
__global__ void relu_mask(const T* y, const T* dy, T* g, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    g[i] = load(y[i]) > 0.0f ? dy[i] : store<T>(0.0f);
}

Tensor workspace(size_t bytes, Device d) {
  return bytes == 0 ? Tensor() : Tensor::empty({static_cast<int64_t>(bytes)}, DType::u8, d);
}

void* ptr(const Tensor& t) { return t.defined() ? t.raw() : nullptr; }

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
  std::shared_ptr<ConvPlan> plan =
      plan_for(d.index, t, x.shape(), w.shape(), b.defined(), p, y_shape, saved != nullptr);
  cudnnHandle_t handle = cuda::cudnn(d.index);
  Tensor xin = x;
  if (plan->explicit_pad) {
    const Shape& xp = plan->xp_shape;
    xin = Tensor::empty(xp, t, d);
    cuda::dispatch_float(t, [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      pad_kernel<T><<<cuda::blocks_for(xin.numel()), 256>>>(
          static_cast<const T*>(x.raw()), static_cast<T*>(xin.raw()), xp[0] * xp[1], x.dim(2),
          x.dim(3), xp[2], xp[3], plan->pad_begin[0], plan->pad_begin[1]);
    });
    CUDA_CHECK_LAUNCH();
  }
  Tensor y = Tensor::empty(y_shape, t, d);
  Tensor ws = workspace(plan->fwd_ws, d);
  const float one = 1.0f, zero = 0.0f;
  plan->use_math(plan->fwd_math);
  CUDNN_CHECK(cudnnConvolutionForward(handle, &one, plan->x_desc.get(), xin.raw(), plan->w_desc,
                                      w.raw(), plan->conv, plan->fwd_algo, ptr(ws), plan->fwd_ws,
                                      &zero, plan->y_desc.get(), y.raw()));
  if (b.defined() || p.fuse_relu) {
    cuda::dispatch_float(t, [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      bias_relu_nchw<T><<<cuda::blocks_for(y.numel()), 256>>>(
          static_cast<T*>(y.raw()), b.defined() ? static_cast<const T*>(b.raw()) : nullptr,
          y.numel(), y_shape[1], y_shape[2] * y_shape[3], p.fuse_relu);
    });
    CUDA_CHECK_LAUNCH();
  }
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
  cudnnHandle_t handle = cuda::cudnn(d.index);
  const float one = 1.0f, zero = 0.0f;
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
    Tensor dxp = Tensor::empty(plan.xp_shape, t, d);
    Tensor ws = workspace(plan.bwd_data_ws, d);
    plan.use_math(plan.bwd_data_math);
    CUDNN_CHECK(cudnnConvolutionBackwardData(
        handle, &one, plan.w_desc, s.w.raw(), plan.y_desc.get(), g.raw(), plan.conv,
        plan.bwd_data_algo, ptr(ws), plan.bwd_data_ws, &zero, plan.x_desc.get(), dxp.raw()));
    if (plan.explicit_pad) {
      *dx = Tensor::empty(plan.x_shape, t, d);
      const Shape& xp = plan.xp_shape;
      cuda::dispatch_float(t, [&](auto tag) {
        using T = cuda::elem_t<decltype(tag)>;
        crop_kernel<T><<<cuda::blocks_for(dx->numel()), 256>>>(
            static_cast<const T*>(dxp.raw()), static_cast<T*>(dx->raw()), xp[0] * xp[1],
            plan.x_shape[2], plan.x_shape[3], xp[2], xp[3], plan.pad_begin[0], plan.pad_begin[1]);
      });
      CUDA_CHECK_LAUNCH();
    } else {
      *dx = dxp;
    }
  }
  if (dw != nullptr) {
    *dw = Tensor::empty(plan.w_shape, t, d);
    Tensor ws = workspace(plan.bwd_filter_ws, d);
    plan.use_math(plan.bwd_filter_math);
    CUDNN_CHECK(cudnnConvolutionBackwardFilter(
        handle, &one, plan.x_desc.get(), s.x.raw(), plan.y_desc.get(), g.raw(), plan.conv,
        plan.bwd_filter_algo, ptr(ws), plan.bwd_filter_ws, &zero, plan.w_desc, dw->raw()));
  }
  if (db != nullptr) {
    *db = Tensor::empty({plan.y_shape[1]}, t, d);
    CUDNN_CHECK(cudnnConvolutionBackwardBias(handle, &one, plan.y_desc.get(), g.raw(), &zero,
                                             plan.b_desc.get(), db->raw()));
  }
}

}  // namespace

RM_REGISTER_KERNELS(Conv2dKernels, cuda, {conv2d_forward_cuda, conv2d_backward_cuda});

}  // namespace ringmaster::ops
