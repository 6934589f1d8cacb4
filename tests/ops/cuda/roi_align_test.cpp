// roi_align on CUDA against the CPU: forward (the same float samples) and
// backward (atomic adds, so within f32 rounding), aligned and not, fixed
// and adaptive sampling; and a bad image index throws the CPU's message.
#include "ops/roi_align.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/check.h"
#include "tests/error_of.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_tensor;

class CudaRoiAlign : public testing::CudaTest {};

Tensor boxes_on(const Tensor& b, Device d) { return d.is_cuda() ? b.to(d) : b; }

TEST_F(CudaRoiAlign, MatchesTheCpu) {
  Tensor boxes = Tensor::empty({4, 4});
  const float v[16] = {0.5f, 1.0f, 9.0f,  7.5f,  -2.0f, -1.0f, 4.0f, 3.0f,
                       6.0f, 2.0f, 13.0f, 11.0f, 3.0f,  3.0f,  3.2f, 3.1f};
  std::copy(v, v + 16, boxes.data<float>());
  const Tensor batch = testing::int_tensor({0, 1, 1, 0}, DType::i64);
  for (bool aligned : {true, false})
    for (int64_t ratio : {0, 2}) {
      const RoiAlignParams p{.output_h = 3,
                             .output_w = 4,
                             .spatial_scale = 0.5,
                             .sampling_ratio = ratio,
                             .aligned = aligned};
      compare_with_cpu(
          [&](const std::vector<Tensor>& in) {
            const Device d = in[0].device();
            return roi_align(in[0], boxes_on(boxes, d), boxes_on(batch, d), p);
          },
          {random_tensor({2, 5, 7, 6})}, {true}, kTolF32, kTolF32,
          "aligned " + std::to_string(aligned) + ", sampling_ratio " + std::to_string(ratio));
    }
}

TEST_F(CudaRoiAlign, AnImageOutsideTheBatchThrowsTheCpuMessage) {
  const Tensor x = random_tensor({1, 2, 4, 4}).to(Device::cuda());
  const Tensor boxes = Tensor::zeros({1, 4}).to(Device::cuda());
  EXPECT_NE(testing_support::error_of([&] {
              roi_align(x, boxes, testing::int_tensor({3}, DType::i64).to(Device::cuda()),
                        {.output_h = 2, .output_w = 2});
            }).find("box 0 is on image 3, outside the batch's [0, 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace ringmaster::ops
