// local_response_norm on CUDA (our kernels) against the CPU (oneDNN), forward
// and dx: GoogLeNet's parameters, strong normalisation where the gradient's
// second term matters, windows wider than the channels, size 1, odd shapes.
// Fresh random inputs each run.
#include "ops/lrn.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_tensor;

// dx sums up to `size` products with powf on both sides: a few ulps more
// than the forward.
constexpr double kTolLrnBackward = 1e-4;

class CudaLrn : public testing::CudaTest {};

void check(const Shape& xs, const LrnParams& p, const std::string& what, float lo = -1.0f,
           float hi = 1.0f) {
  compare_with_cpu([&](const std::vector<Tensor>& in) { return local_response_norm(in[0], p); },
                   {random_tensor(xs, lo, hi)}, {true}, kTolF32, kTolLrnBackward, what);
}

TEST_F(CudaLrn, GoogLeNetParameters) {
  // Activations after relu reach tens: large enough for alpha 1e-4 to matter.
  check({2, 13, 7, 5}, LrnParams{5, 1e-4f, 0.75f, 1.0f}, "size 5, GoogLeNet", 0.0f, 40.0f);
}

TEST_F(CudaLrn, StrongNormalisation) {
  check({3, 6, 3, 5}, LrnParams{3, 0.5f, 0.75f, 2.0f}, "size 3, alpha 0.5, k 2");
  check({2, 7, 4, 3}, LrnParams{5, 2.0f, 1.5f, 1.0f}, "size 5, alpha 2, beta 1.5", -2.0f, 2.0f);
}

TEST_F(CudaLrn, WindowWiderThanChannelsAndSizeOne) {
  check({2, 3, 5, 5}, LrnParams{7, 0.3f, 0.75f, 1.0f}, "size 7 over 3 channels");
  check({1, 5, 2, 3}, LrnParams{1, 0.3f, 1.0f, 1.0f}, "size 1");
  check({3, 1, 9, 1}, LrnParams{5, 0.7f, 0.5f, 1.5f}, "one channel");
}

TEST_F(CudaLrn, InferenceWithoutGrad) {
  Tensor x = random_tensor({2, 9, 4, 6});
  const LrnParams p{5, 0.2f, 0.75f, 1.0f};
  Tensor y = local_response_norm(x.to(Device::cuda()), p);
  testing::expect_close(y, local_response_norm(x, p), kTolF32, "inference");
  EXPECT_FALSE(y.grad_fn());
}

}  // namespace
}  // namespace ringmaster::ops
