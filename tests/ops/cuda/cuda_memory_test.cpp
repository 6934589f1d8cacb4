// The CUDA runtime layer: no device gives a stated reason and a clear
// ops::Error on use (these run everywhere); with a device, copies round-trip,
// poisoning fills new blocks with NaN, and autograd accumulates gradients of
// CUDA tensors (a tensor used twice) on the GPU.
#include <cmath>

#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/add.h"
#include "ops/check.h"
#include "ops/relu.h"

namespace ringmaster::ops {
namespace {

using testing::random_tensor;

TEST(CudaAvailability, NoDeviceIsStatedAndUseIsAClearError) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is present";
  const std::string reason = cuda_unavailable_reason();
  EXPECT_FALSE(reason.empty());
  try {
    Tensor::empty({4}, DType::f32, Device::cuda());
    ADD_FAILURE() << "allocating on a missing GPU did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << e.what();
  }
}

class CudaMemory : public testing::CudaTest {};

TEST_F(CudaMemory, RoundTripAndPoison) {
  Tensor x = random_tensor({3, 1001});
  Tensor back = x.to(Device::cuda()).to(Device::cpu());
  EXPECT_EQ(x.to_vector(), back.to_vector());
  // Poisoning is on in this fixture: a fresh block reads as NaN.
  Tensor fresh = Tensor::empty({257}, DType::f32, Device::cuda());
  for (float v : fresh.to_vector()) ASSERT_TRUE(std::isnan(v));
  Tensor z = Tensor::zeros({257}, DType::f32, Device::cuda());
  for (float v : z.to_vector()) ASSERT_EQ(v, 0.0f);
}

TEST_F(CudaMemory, AutogradAccumulatesOnTheGpu) {
  // y = relu(x) + x: x's gradient is the sum of two paths.
  Tensor x = random_tensor({5, 7});
  testing::compare_with_cpu([](const std::vector<Tensor>& in) { return add(relu(in[0]), in[0]); },
                            {x}, {true}, testing::kTolF32Exact, testing::kTolF32Exact,
                            "relu(x) + x");
  // Two backward passes accumulate into the same leaf .grad().
  Tensor xg = x.to(Device::cuda());
  xg.set_requires_grad(true);
  Tensor ones = Tensor::full(x.shape(), 1.0f);
  relu(xg).backward(ones);
  relu(xg).backward(ones);
  std::vector<float> g = xg.grad().to_vector(), xv = x.to_vector();
  for (size_t i = 0; i < g.size(); ++i) EXPECT_EQ(g[i], xv[i] > 0 ? 2.0f : 0.0f) << i;
}

}  // namespace
}  // namespace ringmaster::ops
