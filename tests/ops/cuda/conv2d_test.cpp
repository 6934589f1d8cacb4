// conv2d on CUDA (cuDNN) against the CPU, forward and dx, dw, db: stride,
// symmetric and asymmetric padding (the explicit-padding path), dilation,
// groups (depthwise too), no bias, fused relu, and dx/dw alone. Odd shapes,
// fresh random inputs each run.
#include "ops/conv2d.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32Gemm;
using testing::random_tensor;

class CudaConv2d : public testing::CudaTest {};

Conv2dParams params(std::array<int64_t, 2> stride, std::array<int64_t, 2> pad_begin,
                    std::array<int64_t, 2> pad_end, std::array<int64_t, 2> dilation = {1, 1},
                    int64_t groups = 1, bool relu = false) {
  Conv2dParams p;
  p.stride = stride;
  p.padding_begin = pad_begin;
  p.padding_end = pad_end;
  p.dilation = dilation;
  p.groups = groups;
  p.fuse_relu = relu;
  return p;
}

void check(const Shape& xs, const Shape& ws, const Conv2dParams& p, bool bias,
           const std::string& what, std::vector<bool> grads = {true, true, true}) {
  Tensor x = random_tensor(xs), w = random_tensor(ws);
  Tensor b = bias ? random_tensor({ws[0]}) : Tensor();
  grads[2] = grads[2] && bias;
  compare_with_cpu([&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], p); },
                   {x, w, b}, grads, kTolF32Gemm, kTolF32Gemm, what);
}

TEST_F(CudaConv2d, Plain3x3) {
  check({3, 5, 11, 9}, {7, 5, 3, 3}, params({1, 1}, {1, 1}, {1, 1}), true, "3x3 pad 1");
  check({2, 3, 8, 8}, {4, 3, 1, 1}, params({1, 1}, {0, 0}, {0, 0}), true, "1x1");
}

TEST_F(CudaConv2d, StrideAndRectangularKernel) {
  check({2, 4, 13, 10}, {6, 4, 3, 2}, params({2, 3}, {1, 0}, {1, 0}), true, "stride 2x3, 3x2");
}

TEST_F(CudaConv2d, AsymmetricPadding) {
  check({2, 3, 9, 7}, {5, 3, 3, 3}, params({1, 1}, {0, 1}, {2, 0}), true, "pad t0 l1 b2 r0");
  check({1, 2, 8, 8}, {3, 2, 3, 3}, params({2, 2}, {0, 0}, {1, 1}), false, "TF 'same' stride 2");
}

TEST_F(CudaConv2d, Dilation) {
  check({2, 3, 12, 11}, {4, 3, 3, 3}, params({1, 1}, {2, 2}, {2, 2}, {2, 2}), true, "dilation 2");
  check({1, 2, 10, 13}, {3, 2, 2, 3}, params({1, 2}, {1, 0}, {0, 2}, {3, 1}), true,
        "dilation 3x1, asymmetric padding");
}

TEST_F(CudaConv2d, Groups) {
  check({2, 6, 7, 9}, {9, 2, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, {1, 1}, 3), true, "groups 3");
  check({3, 5, 8, 6}, {5, 1, 3, 3}, params({2, 1}, {1, 1}, {1, 1}, {1, 1}, 5), true, "depthwise");
}

TEST_F(CudaConv2d, FusedReluAndNoBias) {
  check({3, 4, 9, 9}, {8, 4, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, true), true,
        "fused relu");
  check({2, 3, 7, 5}, {4, 3, 3, 3}, params({1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, true), false,
        "fused relu, no bias");
}

TEST_F(CudaConv2d, OnlySomeGradients) {
  check({2, 3, 7, 7}, {4, 3, 3, 3}, params({1, 1}, {1, 1}, {1, 1}), true, "first layer: no dx",
        {false, true, true});
  check({2, 3, 7, 7}, {4, 3, 3, 3}, params({1, 1}, {1, 1}, {1, 1}), true, "frozen: dx only",
        {true, false, false});
}

TEST_F(CudaConv2d, InferenceWithoutGrad) {
  Tensor x = random_tensor({2, 3, 10, 10}), w = random_tensor({4, 3, 3, 3});
  const Conv2dParams p = params({1, 1}, {1, 1}, {1, 1});
  Tensor y = conv2d(x.to(Device::cuda()), w.to(Device::cuda()), Tensor(), p);
  testing::expect_close(y, conv2d(x, w, Tensor(), p), kTolF32Gemm, "inference");
  EXPECT_FALSE(y.grad_fn());
}

}  // namespace
}  // namespace ringmaster::ops
