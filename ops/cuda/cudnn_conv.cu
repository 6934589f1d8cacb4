// The shared cuDNN convolution of conv2d.cu and conv_transpose2d.cu (see
// cudnn_conv.h): descriptor set-up, algorithm choice per call, the three
// calls with their workspaces, and the pad / crop / bias kernels around them.
#include "ops/cuda/cudnn_conv.h"
#include "ops/cuda/float_types.cuh"

namespace ringmaster::ops::cuda {
namespace {

constexpr size_t kMaxWorkspace = size_t(1) << 30;  // bytes; algorithms needing more are skipped
constexpr int kMaxAlgos = 16;

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

// x (N, C, H, W) = the window of xp (N, C, HP, WP) at (pt, pl).
template <class T>
__global__ void crop_kernel(const T* xp, T* x, int64_t nc, int64_t h, int64_t w, int64_t hp,
                            int64_t wp, int64_t pt, int64_t pl) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < nc * h * w;
       k += int64_t(blockDim.x) * gridDim.x) {
    const int64_t j = k % w, i = (k / w) % h, plane = k / (w * h);
    x[k] = xp[(plane * hp + i + pt) * wp + j + pl];
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

}  // namespace

CudnnConv::CudnnConv(int device, DType dtype, const Shape& xs, const Shape& ws, const Shape& ys,
                     std::array<int64_t, 2> pad, std::array<int64_t, 2> stride,
                     std::array<int64_t, 2> dilation, int64_t groups)
    : device_(device), dtype_(dtype) {
  wanted_math_ = dtype == DType::f16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
  x_desc_.set(xs[0], xs[1], xs[2], xs[3], dtype);
  y_desc_.set(ys[0], ys[1], ys[2], ys[3], dtype);
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&w_desc_));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(w_desc_, cudnn_type(dtype), CUDNN_TENSOR_NCHW,
                                         to_int(ws[0], "K"), to_int(ws[1], "C/G"),
                                         to_int(ws[2], "KH"), to_int(ws[3], "KW")));
  CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv_));
  CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
      conv_, to_int(pad[0], "padding"), to_int(pad[1], "padding"), to_int(stride[0], "stride"),
      to_int(stride[1], "stride"), to_int(dilation[0], "dilation"), to_int(dilation[1], "dilation"),
      CUDNN_CROSS_CORRELATION,
      CUDNN_DATA_FLOAT));  // f32 accumulation for f16 too
  CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv_, to_int(groups, "groups")));
  CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, wanted_math_));
  int n = 0, c = 0, h = 0, w = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv_, x_desc_.get(), w_desc_, &n, &c, &h, &w));
  RM_CHECK(n == ys[0] && c == ys[1] && h == ys[2] && w == ys[3], "cuDNN's conv output (", n, ", ",
           c, ", ", h, ", ", w, ") differs from ", shape_str(ys));
}

CudnnConv::~CudnnConv() {
  if (w_desc_ != nullptr) cudnnDestroyFilterDescriptor(w_desc_);
  if (conv_ != nullptr) cudnnDestroyConvolutionDescriptor(conv_);
}

void CudnnConv::planned(int call, cudnnMathType_t m) {
  planned_[call] = true;
  const cudnnMathType_t maths[3] = {fwd_math_, bwd_data_math_, bwd_filter_math_};
  mixed_math_ = false;
  for (int i = 0; i < 3; ++i)
    if (planned_[i] && maths[i] != m) mixed_math_ = true;
  // Left set for this call; use_math switches per call only when mixed.
  CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, m));
}

void CudnnConv::use_math(cudnnMathType_t m) const {
  if (mixed_math_) CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, m));
}

void CudnnConv::plan_forward() {
  cudnnHandle_t handle = cudnn(device_);
  const auto find = dtype_ == DType::f32 ? cudnnFindConvolutionForwardAlgorithm
                                         : cudnnGetConvolutionForwardAlgorithm_v7;
  CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, wanted_math_));
  cudnnConvolutionFwdAlgoPerf_t perf[kMaxAlgos];
  int got = 0;
  CUDNN_CHECK(find(handle, x_desc_.get(), w_desc_, conv_, y_desc_.get(), kMaxAlgos, &got, perf));
  const auto& best = choose(perf, got, wanted_math_, "forward");
  fwd_algo_ = best.algo;
  fwd_math_ = best.mathType;
  CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, fwd_math_));
  CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(handle, x_desc_.get(), w_desc_, conv_,
                                                      y_desc_.get(), fwd_algo_, &fwd_ws_));
  planned(0, fwd_math_);
}

void CudnnConv::plan_backward_data() {
  cudnnHandle_t handle = cudnn(device_);
  const auto find = dtype_ == DType::f32 ? cudnnFindConvolutionBackwardDataAlgorithm
                                         : cudnnGetConvolutionBackwardDataAlgorithm_v7;
  CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, wanted_math_));
  cudnnConvolutionBwdDataAlgoPerf_t perf[kMaxAlgos];
  int got = 0;
  CUDNN_CHECK(find(handle, w_desc_, y_desc_.get(), conv_, x_desc_.get(), kMaxAlgos, &got, perf));
  const auto& best = choose(perf, got, wanted_math_, "backward data");
  bwd_data_algo_ = best.algo;
  bwd_data_math_ = best.mathType;
  CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, bwd_data_math_));
  CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(
      handle, w_desc_, y_desc_.get(), conv_, x_desc_.get(), bwd_data_algo_, &bwd_data_ws_));
  planned(1, bwd_data_math_);
}

void CudnnConv::plan_backward_filter() {
  cudnnHandle_t handle = cudnn(device_);
  const auto find = dtype_ == DType::f32 ? cudnnFindConvolutionBackwardFilterAlgorithm
                                         : cudnnGetConvolutionBackwardFilterAlgorithm_v7;
  CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, wanted_math_));
  cudnnConvolutionBwdFilterAlgoPerf_t perf[kMaxAlgos];
  int got = 0;
  CUDNN_CHECK(find(handle, x_desc_.get(), y_desc_.get(), conv_, w_desc_, kMaxAlgos, &got, perf));
  const auto& best = choose(perf, got, wanted_math_, "backward filter");
  bwd_filter_algo_ = best.algo;
  bwd_filter_math_ = best.mathType;
  CUDNN_CHECK(cudnnSetConvolutionMathType(conv_, bwd_filter_math_));
  CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
      handle, x_desc_.get(), y_desc_.get(), conv_, w_desc_, bwd_filter_algo_, &bwd_filter_ws_));
  planned(2, bwd_filter_math_);
}

void CudnnConv::forward(const void* x, const void* w, void* y) const {
  RM_CHECK(planned_[0], "cuDNN convolution forward run before it was planned");
  Tensor ws = workspace(fwd_ws_, Device::cuda(device_));
  const float one = 1.0f, zero = 0.0f;
  use_math(fwd_math_);
  CUDNN_CHECK(cudnnConvolutionForward(cudnn(device_), &one, x_desc_.get(), x, w_desc_, w, conv_,
                                      fwd_algo_, raw_or_null(ws), fwd_ws_, &zero, y_desc_.get(),
                                      y));
}

void CudnnConv::backward_data(const void* w, const void* dy, void* dx) const {
  RM_CHECK(planned_[1], "cuDNN convolution backward data run before it was planned");
  Tensor ws = workspace(bwd_data_ws_, Device::cuda(device_));
  const float one = 1.0f, zero = 0.0f;
  use_math(bwd_data_math_);
  CUDNN_CHECK(cudnnConvolutionBackwardData(cudnn(device_), &one, w_desc_, w, y_desc_.get(), dy,
                                           conv_, bwd_data_algo_, raw_or_null(ws), bwd_data_ws_,
                                           &zero, x_desc_.get(), dx));
}

void CudnnConv::backward_filter(const void* x, const void* dy, void* dw) const {
  RM_CHECK(planned_[2], "cuDNN convolution backward filter run before it was planned");
  Tensor ws = workspace(bwd_filter_ws_, Device::cuda(device_));
  const float one = 1.0f, zero = 0.0f;
  use_math(bwd_filter_math_);
  CUDNN_CHECK(cudnnConvolutionBackwardFilter(cudnn(device_), &one, x_desc_.get(), x, y_desc_.get(),
                                             dy, conv_, bwd_filter_algo_, raw_or_null(ws),
                                             bwd_filter_ws_, &zero, w_desc_, dw));
}

PaddingSplit split_padding(const Shape& input, std::array<int64_t, 2> begin,
                           std::array<int64_t, 2> end) {
  PaddingSplit split;
  split.explicit_pad = begin[0] != end[0] || begin[1] != end[1];
  split.padded = input;
  if (split.explicit_pad) {
    split.padded[2] += begin[0] + end[0];
    split.padded[3] += begin[1] + end[1];
  } else {
    split.cudnn_pad = begin;
  }
  return split;
}

Tensor zero_pad(const Tensor& x, std::array<int64_t, 2> begin, std::array<int64_t, 2> end) {
  const Shape xp_shape{x.dim(0), x.dim(1), x.dim(2) + begin[0] + end[0],
                       x.dim(3) + begin[1] + end[1]};
  Tensor xp = Tensor::empty(xp_shape, x.dtype(), x.device());
  dispatch_float(x.dtype(), [&](auto tag) {
    using T = elem_t<decltype(tag)>;
    pad_kernel<T><<<blocks_for(xp.numel()), 256>>>(
        static_cast<const T*>(x.raw()), static_cast<T*>(xp.raw()), xp_shape[0] * xp_shape[1],
        x.dim(2), x.dim(3), xp_shape[2], xp_shape[3], begin[0], begin[1]);
  });
  CUDA_CHECK_LAUNCH();
  return xp;
}

Tensor crop(const Tensor& xp, std::array<int64_t, 2> begin, const Shape& out_shape) {
  Tensor x = Tensor::empty(out_shape, xp.dtype(), xp.device());
  dispatch_float(xp.dtype(), [&](auto tag) {
    using T = elem_t<decltype(tag)>;
    crop_kernel<T><<<blocks_for(x.numel()), 256>>>(
        static_cast<const T*>(xp.raw()), static_cast<T*>(x.raw()), out_shape[0] * out_shape[1],
        out_shape[2], out_shape[3], xp.dim(2), xp.dim(3), begin[0], begin[1]);
  });
  CUDA_CHECK_LAUNCH();
  return x;
}

void add_bias_relu(const Tensor& y, const Tensor& b, bool relu) {
  if (!b.defined() && !relu) return;
  dispatch_float(y.dtype(), [&](auto tag) {
    using T = elem_t<decltype(tag)>;
    bias_relu_nchw<T><<<blocks_for(y.numel()), 256>>>(
        static_cast<T*>(y.raw()), b.defined() ? static_cast<const T*>(b.raw()) : nullptr, y.numel(),
        y.dim(1), y.dim(2) * y.dim(3), relu);
  });
  CUDA_CHECK_LAUNCH();
}

Tensor bias_grad(const Tensor& dy) {
  Tensor db = Tensor::empty({dy.dim(1)}, dy.dtype(), dy.device());
  const TensorDesc dy_desc(dy.dim(0), dy.dim(1), dy.dim(2), dy.dim(3), dy.dtype());
  const TensorDesc db_desc(1, dy.dim(1), 1, 1, dy.dtype());
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnConvolutionBackwardBias(cudnn(dy.device().index), &one, dy_desc.get(), dy.raw(),
                                           &zero, db_desc.get(), db.raw()));
  return db;
}

}  // namespace ringmaster::ops::cuda
