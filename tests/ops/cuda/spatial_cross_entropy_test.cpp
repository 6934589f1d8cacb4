// spatial_cross_entropy on CUDA (our kernels) against the CPU: loss and the
// logits' gradient for 4-d and 3-d logits, i64 and i32 labels, many classes,
// more pixels than one block; a bad label throws the CPU's message (naming
// the first bad image and pixel). Fresh random logits and labels each run.
#include <string>

#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/spatial_cross_entropy.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_labels;
using testing::random_tensor;

class CudaSpatialCrossEntropy : public testing::CudaTest {};

// logits: (N, C, d1, ...), labels (N, d1, ...) on the CPU.
void check(const Shape& logits_shape, DType label_type, const std::string& what) {
  Shape label_shape{logits_shape[0]};
  label_shape.insert(label_shape.end(), logits_shape.begin() + 2, logits_shape.end());
  const Tensor lab = random_labels(label_shape, logits_shape[1], label_type);
  const Tensor lab_gpu = lab.to(Device::cuda());
  compare_with_cpu(
      [&](const std::vector<Tensor>& in) {
        return spatial_cross_entropy(in[0], in[0].device().is_cuda() ? lab_gpu : lab);
      },
      {random_tensor(logits_shape, -4.0f, 4.0f)}, {true}, kTolF32, kTolF32,
      what + ", labels " + dtype_name(label_type));
}

TEST_F(CudaSpatialCrossEntropy, FourAndThreeDimensionalLogits) {
  for (DType t : {DType::i64, DType::i32}) {
    check({2, 5, 4, 3}, t, "(2, 5, 4, 3)");
    check({3, 4, 7}, t, "(3, 4, 7)");
    check({1, 1, 5, 5}, t, "one class");
  }
}

TEST_F(CudaSpatialCrossEntropy, SegmentationSizes) {
  check({2, 21, 33, 29}, DType::i64, "21 classes, 33x29 (more pixels than one block)");
  check({3, 2, 1, 517}, DType::i32, "2 classes, one row of 517");
}

TEST_F(CudaSpatialCrossEntropy, BadLabelThrowsTheCpuMessage) {
  const Tensor logits = random_tensor({3, 4, 2, 3});
  for (int64_t bad : {-1, 4}) {
    Tensor lab = random_labels({3, 2, 3}, 4, DType::i64);
    lab.data<int64_t>()[1 * 6 + 2] = bad;  // image 1 pixel 2: the first bad one
    lab.data<int64_t>()[2 * 6 + 0] = bad;
    std::string cpu_msg, gpu_msg;
    try {
      spatial_cross_entropy(logits, lab);
    } catch (const Error& e) {
      cpu_msg = e.what();
    }
    try {
      spatial_cross_entropy(logits.to(Device::cuda()), lab.to(Device::cuda()));
    } catch (const Error& e) {
      gpu_msg = e.what();
    }
    EXPECT_NE(cpu_msg.find("image 1 pixel 2"), std::string::npos) << "CPU: " << cpu_msg;
    EXPECT_EQ(gpu_msg, cpu_msg) << "label " << bad;
  }
}

TEST_F(CudaSpatialCrossEntropy, InferenceWithoutGrad) {
  const Tensor logits = random_tensor({2, 3, 5, 4}, -3.0f, 3.0f);
  const Tensor lab = random_labels({2, 5, 4}, 3, DType::i64);
  Tensor loss = spatial_cross_entropy(logits.to(Device::cuda()), lab.to(Device::cuda()));
  testing::expect_close(loss, spatial_cross_entropy(logits, lab), kTolF32, "inference");
  EXPECT_FALSE(loss.grad_fn());
}

}  // namespace
}  // namespace ringmaster::ops
