// Mixed precision on CUDA: every op that computes in f16 (conv2d,
// conv_transpose2d, linear, relu, pooling, batch norm, LRN, bilinear resize,
// dropout, add, concat, slice, reshape, and spatial cross-entropy's f16
// logits) against the CPU
// in f32 on the same f16-representable inputs, forward and backward, with
// f16 tolerances; and unscale_grads' overflow check on the GPU. The suites
// are CudaHalf*, run apart from the f32 ones by scripts/gpu-check.sh.
#include <limits>

#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/add.h"
#include "ops/batch_norm2d.h"
#include "ops/concat.h"
#include "ops/conv2d.h"
#include "ops/conv_transpose2d.h"
#include "ops/dropout.h"
#include "ops/linear.h"
#include "ops/lrn.h"
#include "ops/optimizer_update.h"
#include "ops/pool2d.h"
#include "ops/relu.h"
#include "ops/reshape.h"
#include "ops/resize.h"
#include "ops/slice.h"
#include "ops/spatial_cross_entropy.h"

namespace ringmaster::ops {
namespace {

using testing::compare_half_with_cpu;
using testing::random_labels;
using testing::random_tensor;

// f16 output (one rounding, 2^-11 relative) after f32 accumulation.
constexpr double kTolHalf = 2e-3;
// Gradients through normalisation (cancellations) or several f16 roundings.
constexpr double kTolHalfBackward = 1e-2;

class CudaHalf : public testing::CudaTest {};

TEST_F(CudaHalf, Conv2d) {
  for (bool asymmetric : {false, true}) {
    Conv2dParams p = Conv2dParams::same_padding(1);
    if (asymmetric) p.padding_end = {2, 0};
    p.fuse_relu = asymmetric;
    compare_half_with_cpu(
        [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], p); },
        {random_tensor({3, 8, 9, 7}), random_tensor({16, 8, 3, 3}), random_tensor({16})},
        {true, true, true}, {true, true, true}, kTolHalf, kTolHalfBackward,
        asymmetric ? "conv f16, asymmetric padding, fused relu" : "conv f16");
  }
  Conv2dParams g = Conv2dParams::same_padding(1);
  g.groups = 4;
  compare_half_with_cpu(
      [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), g); },
      {random_tensor({2, 8, 6, 6}), random_tensor({8, 2, 3, 3})}, {true, true}, {true, true},
      kTolHalf, kTolHalfBackward, "grouped conv f16");
}

TEST_F(CudaHalf, ConvTranspose2d) {
  ConvTranspose2dParams up = ConvTranspose2dParams::symmetric(2, 1, 1);
  compare_half_with_cpu(
      [&](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], up); },
      {random_tensor({2, 8, 5, 4}), random_tensor({8, 6, 3, 3}), random_tensor({6})},
      {true, true, true}, {true, true, true}, kTolHalf, kTolHalfBackward,
      "conv_transpose2d f16, stride 2, output_padding 1");
  ConvTranspose2dParams asym = ConvTranspose2dParams::symmetric(2, 0);
  asym.padding_begin = {1, 0};
  asym.padding_end = {0, 2};
  asym.groups = 2;
  compare_half_with_cpu(
      [&](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], Tensor(), asym); },
      {random_tensor({2, 4, 3, 5}), random_tensor({4, 3, 4, 4})}, {true, true}, {true, true},
      kTolHalf, kTolHalfBackward, "conv_transpose2d f16, asymmetric padding, groups 2");
}

TEST_F(CudaHalf, Linear) {
  for (bool relu : {false, true})
    compare_half_with_cpu(
        [&](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2], relu); },
        {random_tensor({13, 40}), random_tensor({24, 40}), random_tensor({24})}, {true, true, true},
        {true, true, true}, kTolHalf, kTolHalfBackward, relu ? "linear f16 + relu" : "linear f16");
}

TEST_F(CudaHalf, PoolingBothPaths) {
  Pool2dParams cudnn_path;  // 2x2 stride 2
  Pool2dParams own_path;
  own_path.kernel = {3, 3};
  own_path.stride = {2, 2};
  own_path.ceil_mode = true;
  own_path.padding_begin = own_path.padding_end = {1, 1};
  for (const Pool2dParams& p : {cudnn_path, own_path}) {
    compare_half_with_cpu([&](const std::vector<Tensor>& in) { return max_pool2d(in[0], p); },
                          {random_tensor({2, 3, 9, 8})}, {true}, {true}, kTolHalf, kTolHalf,
                          "max pool f16");
    compare_half_with_cpu([&](const std::vector<Tensor>& in) { return avg_pool2d(in[0], p); },
                          {random_tensor({2, 3, 9, 8})}, {true}, {true}, kTolHalf, kTolHalf,
                          "avg pool f16");
  }
}

TEST_F(CudaHalf, BatchNormF16InputF32Parameters) {
  for (bool training : {true, false}) {
    Tensor rm = random_tensor({5}), rv = random_tensor({5}, 0.5f, 2.0f);
    Tensor rm_gpu = rm.to(Device::cuda()), rv_gpu = rv.to(Device::cuda());
    BatchNormParams p;
    p.training = training;
    compare_half_with_cpu(
        [&](const std::vector<Tensor>& in) {
          const bool gpu = in[0].device().is_cuda();
          return batch_norm2d(in[0], in[1], in[2], gpu ? rm_gpu : rm, gpu ? rv_gpu : rv, p);
        },
        {random_tensor({4, 5, 3, 6}, -2.0f, 3.0f), random_tensor({5}), random_tensor({5})},
        {true, false, false}, {true, true, true}, kTolHalfBackward, kTolHalfBackward,
        training ? "batch norm f16, training" : "batch norm f16, eval");
  }
}

TEST_F(CudaHalf, LocalResponseNorm) {
  const LrnParams p{5, 0.5f, 0.75f, 1.0f};
  compare_half_with_cpu(
      [&](const std::vector<Tensor>& in) { return local_response_norm(in[0], p); },
      {random_tensor({2, 7, 5, 3}, -2.0f, 2.0f)}, {true}, {true}, kTolHalf, kTolHalfBackward,
      "lrn f16");
}

TEST_F(CudaHalf, ResizeBilinear) {
  for (bool align_corners : {false, true})
    compare_half_with_cpu(
        [&](const std::vector<Tensor>& in) {
          return resize_bilinear(in[0], ResizeParams::to(13, 9, align_corners));
        },
        {random_tensor({2, 3, 5, 4})}, {true}, {true}, kTolHalf, kTolHalf,
        align_corners ? "resize f16, align_corners" : "resize f16, half_pixel");
}

TEST_F(CudaHalf, SliceAndCrop) {
  compare_half_with_cpu([](const std::vector<Tensor>& in) { return slice(in[0], 1, 1, 4); },
                        {random_tensor({2, 5, 3, 4})}, {true}, {true}, 0.0, 0.0, "slice f16");
  compare_half_with_cpu([](const std::vector<Tensor>& in) { return crop2d(in[0], 1, 2, 5, 3); },
                        {random_tensor({2, 3, 7, 6})}, {true}, {true}, 0.0, 0.0, "crop2d f16");
}

TEST_F(CudaHalf, SpatialCrossEntropyF16Logits) {
  const Tensor lab = random_labels({2, 6, 5}, 7);
  const Tensor lab_gpu = lab.to(Device::cuda());
  // The loss is computed in f32 from the same values on both sides; only the
  // gradient is rounded to f16.
  compare_half_with_cpu(
      [&](const std::vector<Tensor>& in) {
        return spatial_cross_entropy(in[0], in[0].device().is_cuda() ? lab_gpu : lab);
      },
      {random_tensor({2, 7, 6, 5}, -4.0f, 4.0f)}, {true}, {true}, testing::kTolF32, kTolHalf,
      "spatial cross-entropy, f16 logits");
}

TEST_F(CudaHalf, ElementwiseOps) {
  const Shape s{3, 5, 7, 2};
  compare_half_with_cpu([](const std::vector<Tensor>& in) { return relu(in[0]); },
                        {random_tensor(s)}, {true}, {true}, 0.0, 0.0, "relu f16");
  compare_half_with_cpu([](const std::vector<Tensor>& in) { return add(in[0], in[1]); },
                        {random_tensor(s), random_tensor(s)}, {true, true}, {true, true}, kTolHalf,
                        0.0, "add f16");
  compare_half_with_cpu(
      [](const std::vector<Tensor>& in) { return dropout(in[0], 0.5f, true, 99); },
      {random_tensor(s)}, {true}, {true}, 0.0, 0.0, "dropout f16 (scale 2: exact)");
  compare_half_with_cpu(
      [](const std::vector<Tensor>& in) {
        return relu(flatten(concat({in[0], in[1]}, 1)));
      },
      {random_tensor({2, 3, 4}), random_tensor({2, 1, 4})}, {true, true}, {true, true}, 0.0, 0.0,
      "concat + flatten f16");
}

TEST_F(CudaHalf, UnscaleGradsOnTheGpu) {
  Tensor a = Tensor::from_vector({2.0f, 4.0f, -8.0f}, {3}).to(Device::cuda());
  EXPECT_FALSE(unscale_grads({a}, 0.25f));
  EXPECT_EQ(a.to_vector(), (std::vector<float>{0.5f, 1.0f, -2.0f}));
  Tensor bad = Tensor::from_vector({1.0f, std::numeric_limits<float>::infinity()}, {2});
  EXPECT_TRUE(unscale_grads({a, bad.to(Device::cuda())}, 1.0f));
  EXPECT_TRUE(unscale_grads({Tensor::from_vector({std::nanf("")}, {1}).to(Device::cuda())}, 1.0f));
}

}  // namespace
}  // namespace ringmaster::ops
