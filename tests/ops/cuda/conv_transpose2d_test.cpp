// conv_transpose2d on CUDA (cuDNN, through the convolution it is the data
// gradient of) against the CPU, forward and dx, dw, db: stride, symmetric and
// asymmetric padding (the crop path), output_padding, dilation, groups
// (depthwise too), no bias, and dx/dw alone. Odd shapes, fresh random inputs
// each run.
#include "ops/conv_transpose2d.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32Gemm;
using testing::random_tensor;

class CudaConvTranspose2d : public testing::CudaTest {};

ConvTranspose2dParams params(std::array<int64_t, 2> stride, std::array<int64_t, 2> pad_begin,
                             std::array<int64_t, 2> pad_end,
                             std::array<int64_t, 2> output_padding = {0, 0},
                             std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1) {
  ConvTranspose2dParams p;
  p.stride = stride;
  p.padding_begin = pad_begin;
  p.padding_end = pad_end;
  p.output_padding = output_padding;
  p.dilation = dilation;
  p.groups = groups;
  return p;
}

// x: (N, C, H, W), w: (C, O/groups, KH, KW).
void check(const Shape& xs, const Shape& ws, const ConvTranspose2dParams& p, bool bias,
           const std::string& what, std::vector<bool> grads = {true, true, true}) {
  Tensor x = random_tensor(xs), w = random_tensor(ws);
  Tensor b = bias ? random_tensor({ws[1] * p.groups}) : Tensor();
  grads[2] = grads[2] && bias;
  compare_with_cpu(
      [&](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], p); },
      {x, w, b}, grads, kTolF32Gemm, kTolF32Gemm, what);
}

TEST_F(CudaConvTranspose2d, Stride1AndFcnUpsampling) {
  check({2, 3, 5, 7}, {3, 4, 3, 3}, params({1, 1}, {0, 0}, {0, 0}), true, "stride 1");
  check({2, 5, 4, 5}, {5, 3, 4, 4}, params({2, 2}, {1, 1}, {1, 1}), true,
        "stride 2 pad 1 kernel 4 (2x upsampling)");
  check({1, 3, 3, 5}, {3, 3, 16, 16}, params({8, 8}, {4, 4}, {4, 4}), false,
        "stride 8 kernel 16 (FCN-8s)");
}

TEST_F(CudaConvTranspose2d, OutputPadding) {
  check({1, 2, 4, 3}, {2, 3, 3, 3}, params({2, 2}, {1, 1}, {1, 1}, {1, 1}), true,
        "output_padding 1");
  check({2, 2, 3, 3}, {2, 2, 3, 3}, params({3, 3}, {0, 0}, {0, 0}, {2, 1}), true,
        "stride 3 output_padding 2x1");
}

TEST_F(CudaConvTranspose2d, AsymmetricStridePaddingAndKernel) {
  check({2, 3, 4, 3}, {3, 2, 3, 4}, params({2, 3}, {1, 0}, {0, 2}, {1, 0}), true,
        "stride 2x3, pad t1 l0 b0 r2, output_padding 1x0");
  check({1, 4, 5, 6}, {4, 3, 3, 3}, params({1, 1}, {2, 0}, {0, 1}), false,
        "stride 1, pad t2 l0 b0 r1");
}

TEST_F(CudaConvTranspose2d, Dilation) {
  check({1, 3, 4, 4}, {3, 2, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, {0, 0}, {2, 2}), true,
        "dilation 2");
  check({2, 2, 3, 4}, {2, 3, 2, 3}, params({2, 2}, {0, 0}, {0, 0}, {1, 1}, {2, 3}), false,
        "dilation 2x3 stride 2 output_padding 1");
}

TEST_F(CudaConvTranspose2d, Groups) {
  check({2, 4, 4, 3}, {4, 3, 3, 3}, params({2, 2}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, 2), true,
        "groups 2");
  check({1, 3, 3, 5}, {3, 1, 4, 4}, params({2, 2}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, 3), true,
        "depthwise");
}

TEST_F(CudaConvTranspose2d, OnlySomeGradients) {
  check({2, 3, 4, 4}, {3, 2, 3, 3}, params({2, 2}, {1, 1}, {1, 1}, {1, 1}), true,
        "frozen input: dw, db", {false, true, true});
  check({2, 3, 4, 4}, {3, 2, 3, 3}, params({2, 2}, {1, 1}, {1, 1}, {1, 1}), true,
        "frozen weights: dx only", {true, false, false});
}

TEST_F(CudaConvTranspose2d, InferenceWithoutGrad) {
  Tensor x = random_tensor({2, 3, 5, 5}), w = random_tensor({3, 4, 4, 4});
  Tensor b = random_tensor({4});
  const ConvTranspose2dParams p = params({2, 2}, {1, 1}, {1, 1});
  Tensor y = conv_transpose2d(x.to(Device::cuda()), w.to(Device::cuda()), b.to(Device::cuda()), p);
  testing::expect_close(y, conv_transpose2d(x, w, b, p), kTolF32Gemm, "inference");
  EXPECT_FALSE(y.grad_fn());
}

}  // namespace
}  // namespace ringmaster::ops
