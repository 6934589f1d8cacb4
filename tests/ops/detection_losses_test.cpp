// smooth_l1_loss and bce_with_logits: forward against the double-precision
// reference on odd shapes (mean and sum; beta 1/9, 1 and 0), backward
// against finite differences, values worked out by hand, finite losses
// and gradients at extreme logits, and refusals.
#include <cmath>

#include "op_test_util.h"
#include "ops/bce_with_logits.h"
#include "ops/check.h"
#include "ops/reference/losses.h"
#include "ops/smooth_l1.h"

namespace ringmaster::ops {
namespace {

using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

TEST(SmoothL1, ForwardMatchesReference) {
  for (const Shape& s : {Shape{1}, Shape{7, 4}, Shape{3, 5, 2}})
    for (double beta : {1.0 / 9, 1.0, 0.0})
      for (LossReduction r : {LossReduction::kMean, LossReduction::kSum}) {
        const Tensor x = random_tensor(s, -2, 2), t = random_tensor(s, -2, 2);
        expect_close(smooth_l1_loss(x, t, beta, r),
                     reference::smooth_l1_loss(reference::from_tensor(x), reference::from_tensor(t),
                                               beta, r),
                     1e-6, shape_str(s) + " beta " + std::to_string(beta));
      }
}

TEST(SmoothL1, ValuesWorkedOutByHand) {
  Tensor x = Tensor::empty({3}), t = Tensor::zeros({3});
  const float v[3] = {0.5f, -3.0f, 0.0f};
  std::copy(v, v + 3, x.data<float>());
  // beta 1: 0.5 * 0.25 = 0.125; 3 - 0.5 = 2.5; 0.
  EXPECT_FLOAT_EQ(smooth_l1_loss(x, t, 1.0, LossReduction::kSum).to_vector()[0], 2.625f);
  EXPECT_FLOAT_EQ(smooth_l1_loss(x, t, 1.0).to_vector()[0], 2.625f / 3);
  // The sum over a divisor (Faster R-CNN's positives over all sampled), and
  // its gradient: d/dx of 0.5 x^2 is 0.5, of |x| - 0.5 is -1; over 7.
  Tensor xg = x.clone();
  xg.set_requires_grad(true);
  Tensor over = smooth_l1_loss(xg, t, 1.0, LossReduction::kSum, 7.0);
  EXPECT_FLOAT_EQ(over.to_vector()[0], 2.625f / 7);
  over.backward();
  EXPECT_EQ(xg.grad().to_vector(), (std::vector<float>{0.5f / 7, -1.0f / 7, 0.0f}));
  EXPECT_THROW(smooth_l1_loss(x, t, 1.0, LossReduction::kSum, 0.0), Error);
}

TEST(SmoothL1, BackwardMatchesFiniteDifferences) {
  for (double beta : {1.0 / 9, 1.0})
    for (LossReduction r : {LossReduction::kMean, LossReduction::kSum}) {
      const Tensor t = random_tensor({5, 4}, -2, 2);
      check_gradients(
          [&](const std::vector<Tensor>& in) { return smooth_l1_loss(in[0], t, beta, r); },
          [&](const std::vector<reference::RefTensor>& in) {
            return reference::smooth_l1_loss(in[0], reference::from_tensor(t), beta, r);
          },
          {random_tensor({5, 4}, -2, 2)}, {true});
    }
}

TEST(BceWithLogits, ForwardMatchesReference) {
  for (const Shape& s : {Shape{1}, Shape{9, 3}, Shape{2, 3, 5}})
    for (LossReduction r : {LossReduction::kMean, LossReduction::kSum}) {
      const Tensor x = random_tensor(s, -6, 6), t = random_tensor(s, 0, 1);
      expect_close(
          bce_with_logits(x, t, r),
          reference::bce_with_logits(reference::from_tensor(x), reference::from_tensor(t), r), 1e-6,
          shape_str(s));
    }
}

TEST(BceWithLogits, BackwardMatchesFiniteDifferences) {
  const Tensor t = random_tensor({4, 6}, 0, 1);
  check_gradients([&](const std::vector<Tensor>& in) { return bce_with_logits(in[0], t); },
                  [&](const std::vector<reference::RefTensor>& in) {
                    return reference::bce_with_logits(in[0], reference::from_tensor(t),
                                                      LossReduction::kMean);
                  },
                  {random_tensor({4, 6}, -4, 4)}, {true});
}

TEST(BceWithLogits, ExtremeLogitsGiveFiniteLossesAndGradients) {
  Tensor x = Tensor::empty({4}), t = Tensor::empty({4});
  const float xv[4] = {100.0f, -100.0f, 100.0f, -100.0f}, tv[4] = {1, 0, 0, 1};
  std::copy(xv, xv + 4, x.data<float>());
  std::copy(tv, tv + 4, t.data<float>());
  x.set_requires_grad(true);
  Tensor loss = bce_with_logits(x, t, LossReduction::kSum);
  // Right with certainty: ~0; wrong with certainty: 100 each.
  EXPECT_NEAR(loss.to_vector()[0], 200.0, 1e-3);
  loss.backward(Tensor::full({}, 1.0f));
  const std::vector<float> g = x.grad().to_vector();
  EXPECT_NEAR(g[0], 0.0f, 1e-6);
  EXPECT_NEAR(g[1], 0.0f, 1e-6);
  EXPECT_NEAR(g[2], 1.0f, 1e-6);
  EXPECT_NEAR(g[3], -1.0f, 1e-6);
}

TEST(DetectionLosses, BadInputsAreRefused) {
  const Tensor a = random_tensor({3, 4}), b = random_tensor({4, 3});
  EXPECT_THROW(smooth_l1_loss(a, b), Error);
  EXPECT_THROW(bce_with_logits(a, b), Error);
  EXPECT_THROW(smooth_l1_loss(a, a, -1.0), Error);
  EXPECT_THROW(smooth_l1_loss(a, a, std::nan("")), Error);
  EXPECT_THROW(bce_with_logits(Tensor::empty({0}), Tensor::empty({0})), Error);
}

}  // namespace
}  // namespace ringmaster::ops
