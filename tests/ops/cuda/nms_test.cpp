// nms and batched_nms with boxes on CUDA (the device's overlap matrix, one
// pass on the host) keep exactly the CPU's boxes: random boxes in several
// words of the matrix, ties, classes, score threshold and top-k; an empty
// list; and a bad input names what is wrong as on the CPU.
#include <cmath>
#include <random>

#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/nms.h"
#include "tests/error_of.h"

namespace ringmaster::ops {
namespace {

class CudaNms : public testing::CudaTest {};

Tensor floats(const std::vector<float>& v, Shape shape) { return Tensor::from_vector(v, shape); }

TEST_F(CudaNms, KeepsTheCpusBoxes) {
  std::mt19937_64 rng(23);
  std::uniform_real_distribution<float> pos(0.0f, 200.0f), len(2.0f, 60.0f), score(0.0f, 1.0f);
  std::uniform_int_distribution<int64_t> cls(0, 4);
  for (const int64_t k : {1, 63, 64, 65, 700, 2000}) {
    std::vector<float> b, s;
    std::vector<int64_t> c;
    for (int64_t i = 0; i < k; ++i) {
      const float x = pos(rng), y = pos(rng);
      b.insert(b.end(), {x, y, x + len(rng), y + len(rng)});
      s.push_back(std::round(score(rng) * 50.0f) / 50.0f);
      c.push_back(cls(rng));
    }
    const Tensor boxes = floats(b, {k, 4}), scores = floats(s, {k});
    const Tensor classes = testing::int_tensor(c, DType::i64);
    for (const NmsOptions& o : {NmsOptions{.iou_threshold = 0.5},
                                NmsOptions{.iou_threshold = 0.3, .score_threshold = 0.2},
                                NmsOptions{.iou_threshold = 0.7, .max_output = 100}}) {
      SCOPED_TRACE(std::to_string(k) + " boxes, iou " + std::to_string(o.iou_threshold));
      EXPECT_EQ(nms(boxes.to(Device::cuda()), scores.to(Device::cuda()), o), nms(boxes, scores, o));
      EXPECT_EQ(batched_nms(boxes.to(Device::cuda()), scores.to(Device::cuda()),
                            classes.to(Device::cuda()), o),
                batched_nms(boxes, scores, classes, o));
    }
  }
  EXPECT_TRUE(
      nms(Tensor::empty({0, 4}).to(Device::cuda()), Tensor::empty({0}).to(Device::cuda()), {})
          .empty());
}

TEST_F(CudaNms, ABadInputThrowsTheCpuMessage) {
  const Tensor boxes = floats({0, 0, 1, 1, 2, 2, 3, 3}, {2, 4});
  const Tensor one = floats({0.5f}, {1});
  const std::string want = "nms: scores must be (2) f32, one per box";
  EXPECT_NE(testing_support::error_of([&] { nms(boxes, one, {}); }).find(want), std::string::npos);
  EXPECT_NE(testing_support::error_of([&] {
              nms(boxes.to(Device::cuda()), one.to(Device::cuda()), {});
            }).find(want),
            std::string::npos);
}

}  // namespace
}  // namespace ringmaster::ops
