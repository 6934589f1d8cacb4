// roi_pool on CUDA against the CPU: forward (the same cells, so exactly)
// and backward (atomic adds, within f32 rounding) at two scales; and a bad
// image index throws the CPU's message.
#include "ops/roi_pool.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/check.h"
#include "tests/error_of.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_tensor;

class CudaRoiPool : public testing::CudaTest {};

Tensor on(const Tensor& t, Device d) { return d.is_cuda() ? t.to(d) : t; }

TEST_F(CudaRoiPool, MatchesTheCpu) {
  Tensor boxes = Tensor::empty({4, 4});
  const float v[16] = {0.5f, 1.0f, 9.0f,  7.5f,  -2.0f, -1.0f, 4.0f, 3.0f,
                       6.0f, 2.0f, 13.0f, 11.0f, 3.0f,  3.0f,  3.2f, 3.1f};
  std::copy(v, v + 16, boxes.data<float>());
  const Tensor batch = testing::int_tensor({0, 1, 1, 0}, DType::i64);
  for (double scale : {1.0, 0.5}) {
    const RoiPoolParams p{.output_h = 3, .output_w = 4, .spatial_scale = scale};
    compare_with_cpu(
        [&](const std::vector<Tensor>& in) {
          const Device d = in[0].device();
          return roi_pool(in[0], on(boxes, d), on(batch, d), p);
        },
        {random_tensor({2, 5, 7, 6})}, {true}, kTolF32, kTolF32, "scale " + std::to_string(scale));
  }
}

TEST_F(CudaRoiPool, AnImageOutsideTheBatchThrowsTheCpuMessage) {
  const Tensor x = random_tensor({1, 2, 4, 4}).to(Device::cuda());
  const Tensor boxes = Tensor::zeros({1, 4}).to(Device::cuda());
  EXPECT_NE(testing_support::error_of([&] {
              roi_pool(x, boxes, testing::int_tensor({3}, DType::i64).to(Device::cuda()),
                       {.output_h = 2, .output_w = 2});
            }).find("box 0 is on image 3, outside the batch's [0, 1)"),
            std::string::npos);
}

}  // namespace
}  // namespace ringmaster::ops
