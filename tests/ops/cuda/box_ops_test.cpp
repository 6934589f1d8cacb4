// The box ops on CUDA against the CPU: the IoU matrix, box encoding and
// decoding (with clipping and the clamped log-scale), and the anchor grid
// give the CPU's values (the same formulas, no fused multiply-adds: within
// an f32 ulp where exp and log differ); a box without area is refused naming
// it, as on the CPU.
#include <random>

#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/anchors.h"
#include "ops/box_coder.h"
#include "ops/box_iou.h"
#include "tests/error_of.h"

namespace ringmaster::ops {
namespace {

class CudaBoxOps : public testing::CudaTest {};

Tensor random_boxes(std::mt19937_64& rng, int64_t k, float size) {
  std::uniform_real_distribution<float> pos(0.0f, size), len(0.5f, size / 3);
  std::vector<float> v;
  for (int64_t i = 0; i < k; ++i) {
    const float x = pos(rng), y = pos(rng);
    v.insert(v.end(), {x, y, x + len(rng), y + len(rng)});
  }
  return Tensor::from_vector(v, {k, 4});
}

TEST_F(CudaBoxOps, IouMatrixMatchesTheCpu) {
  std::mt19937_64 rng(3);
  const Tensor a = random_boxes(rng, 300, 80.0f), b = random_boxes(rng, 70, 80.0f);
  const Tensor cpu = box_iou(a, b);
  const Tensor gpu = box_iou(a.to(Device::cuda()), b.to(Device::cuda()));
  ASSERT_TRUE(gpu.device().is_cpu());
  EXPECT_EQ(gpu.to_vector(), cpu.to_vector());
  EXPECT_EQ(box_iou(a.to(Device::cuda()), Tensor::empty({0, 4})).shape(), (Shape{300, 0}));
}

TEST_F(CudaBoxOps, EncodeAndDecodeMatchTheCpu) {
  std::mt19937_64 rng(4);
  const Tensor boxes = random_boxes(rng, 500, 100.0f), reference = random_boxes(rng, 500, 100.0f);
  const BoxCoding c{.wx = 10.0, .wy = 10.0, .ww = 5.0, .wh = 5.0};
  const Tensor deltas = encode_boxes(boxes, reference, c);
  testing::expect_close(encode_boxes(boxes.to(Device::cuda()), reference.to(Device::cuda()), c),
                        deltas, 1e-6, "encode");
  // Decoding with some deltas large enough to be clamped, and clipping.
  std::vector<float> d = deltas.to_vector();
  for (size_t i = 2; i < d.size(); i += 40) d[i] = 60.0f;
  const Tensor big = Tensor::from_vector(d, {500, 4});
  for (const double clip : {0.0, 64.0}) {
    testing::expect_close(
        decode_boxes(big.to(Device::cuda()), reference.to(Device::cuda()), c, clip, clip),
        decode_boxes(big, reference, c, clip, clip), 1e-6, "decode, clip " + std::to_string(clip));
  }
}

TEST_F(CudaBoxOps, ABoxWithoutAreaIsNamedAsOnTheCpu) {
  const Tensor boxes = Tensor::from_vector({0, 0, 4, 4, 2, 2, 2, 9}, {2, 4});
  const Tensor reference = Tensor::from_vector({0, 0, 5, 5, 1, 1, 6, 6}, {2, 4});
  const std::string cpu = testing_support::error_of([&] { encode_boxes(boxes, reference, {}); });
  EXPECT_NE(cpu.find("encode_boxes: box 1 is 0 x 7"), std::string::npos) << cpu;
  EXPECT_EQ(testing_support::error_of(
                [&] { encode_boxes(boxes.to(Device::cuda()), reference.to(Device::cuda()), {}); }),
            cpu);
}

TEST_F(CudaBoxOps, TheAnchorGridMatchesTheCpu) {
  const AnchorGrid g{.sizes = {16, 32, 64},
                     .ratios = {0.5, 1, 2},
                     .grid_h = 7,
                     .grid_w = 9,
                     .stride_h = 8,
                     .stride_w = 6};
  const Tensor gpu = make_anchors(g, Device::cuda());
  ASSERT_TRUE(gpu.device().is_cuda());
  EXPECT_EQ(gpu.to(Device::cpu()).to_vector(), make_anchors(g).to_vector());
}

}  // namespace
}  // namespace ringmaster::ops
