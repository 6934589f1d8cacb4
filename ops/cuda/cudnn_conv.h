// Internal to ops/cuda/: one cuDNN convolution (legacy API) as conv2d.cu and
// conv_transpose2d.cu both run it: descriptors for input x (N, C, H, W),
// filter w (K, C/G, KH, KW) and output y (N, K, OH, OW) with symmetric
// padding, and for each call (forward, backward data, backward filter) an
// algorithm, its workspace and math type, chosen once when the call is
// planned: f32 measured by cuDNN's Find (FMA math, no TF32), f16 from the v7
// heuristics (tensor cores, f32 accumulation); see conv2d.cu for why. Also
// the zero-pad and crop that stand in for asymmetric padding. Not thread-safe
// while planning (callers plan under their cache's lock).
#pragma once

#include <array>

#include "ops/cuda/cuda_context.h"
#include "ops/tensor.h"

namespace ringmaster::ops::cuda {

class CudnnConv {
 public:
  // x (N, C, H, W) conv w (K, C/G, KH, KW) -> y (N, K, OH, OW); pad is the
  // same at both ends. Aborts when cuDNN's output shape is not ys.
  CudnnConv(int device, DType dtype, const Shape& xs, const Shape& ws, const Shape& ys,
            std::array<int64_t, 2> pad, std::array<int64_t, 2> stride,
            std::array<int64_t, 2> dilation, int64_t groups);
  ~CudnnConv();
  CudnnConv(const CudnnConv&) = delete;
  CudnnConv& operator=(const CudnnConv&) = delete;

  // Choose each call's algorithm; a call must be planned before it runs.
  void plan_forward();
  void plan_backward_data();
  void plan_backward_filter();

  // Device buffers of the planned shapes and dtype; outputs are overwritten.
  void forward(const void* x, const void* w, void* y) const;            // y = conv(x, w)
  void backward_data(const void* w, const void* dy, void* dx) const;    // dx = conv^T(dy, w)
  void backward_filter(const void* x, const void* dy, void* dw) const;  // dw = x (*) dy

 private:
  void use_math(cudnnMathType_t m) const;

  int device_ = 0;
  DType dtype_ = DType::f32;
  cudnnMathType_t wanted_math_ = CUDNN_FMA_MATH;  // f32: FMA; f16: tensor cores
  TensorDesc x_desc_, y_desc_;
  cudnnFilterDescriptor_t w_desc_ = nullptr;
  cudnnConvolutionDescriptor_t conv_ = nullptr;
  cudnnConvolutionFwdAlgo_t fwd_algo_{};
  cudnnConvolutionBwdDataAlgo_t bwd_data_algo_{};
  cudnnConvolutionBwdFilterAlgo_t bwd_filter_algo_{};
  size_t fwd_ws_ = 0, bwd_data_ws_ = 0, bwd_filter_ws_ = 0;
  // The math type each planned call needs: wanted_math_ unless cuDNN offered
  // no such algorithm for it. The descriptor is switched per call only when
  // the planned calls disagree (mixed_math_).
  cudnnMathType_t fwd_math_ = CUDNN_FMA_MATH, bwd_data_math_ = CUDNN_FMA_MATH,
                  bwd_filter_math_ = CUDNN_FMA_MATH;
  bool planned_[3] = {false, false, false};
  bool mixed_math_ = false;
  void planned(int call, cudnnMathType_t m);
};

// cuDNN pads both ends of an axis alike. For padding (begin, end) of the
// convolution's input (N, C, H, W): when begin == end on both axes, cuDNN
// pads (padded = the input's shape); otherwise we zero-pad the input
// explicitly to `padded` and cuDNN pads nothing.
struct PaddingSplit {
  bool explicit_pad = false;
  std::array<int64_t, 2> cudnn_pad{0, 0};
  Shape padded;  // (N, C, H', W'): the input as cuDNN sees it
};
PaddingSplit split_padding(const Shape& input, std::array<int64_t, 2> begin,
                           std::array<int64_t, 2> end);

// xp (N, C, H + begin[0] + end[0], W + begin[1] + end[1]): x (N, C, H, W)
// zero-padded. f32 or f16, plain, on x's device.
Tensor zero_pad(const Tensor& x, std::array<int64_t, 2> begin, std::array<int64_t, 2> end);
// (N, C, h, w) = xp[:, :, top : top + h, left : left + w]; out_shape is (N, C, h, w).
Tensor crop(const Tensor& xp, std::array<int64_t, 2> begin, const Shape& out_shape);
// y (N, K, OH, OW) += b (K) (when defined), then max(y, 0) when relu; in place.
void add_bias_relu(const Tensor& y, const Tensor& b, bool relu);
// db (K) = sum of dy (N, K, OH, OW) over N, OH, OW (cuDNN's bias grad).
Tensor bias_grad(const Tensor& dy);

}  // namespace ringmaster::ops::cuda
