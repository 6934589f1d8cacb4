// local_response_norm: forward against the reference (GoogLeNet's and other
// parameters, few and many channels, blocked input) and backward against
// finite differences; even sizes are refused.
#include "ops/reference/lrn.h"

#include "op_test_util.h"
#include "ops/lrn.h"

namespace ringmaster::ops {
namespace {

using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

void check_lrn(const Tensor& x, const LrnParams& p, const std::string& what) {
  SCOPED_TRACE(what);
  expect_close(local_response_norm(x, p),
               reference::local_response_norm(reference::from_tensor(x), p), 1e-4,
               what + " forward");
  check_gradients(
      [&](const std::vector<Tensor>& in) { return local_response_norm(in[0], p); },
      [&](const std::vector<RefTensor>& in) { return reference::local_response_norm(in[0], p); },
      {x}, {true});
}

TEST(Lrn, GoogLeNetParameters) {
  // GoogLeNet v1 / AlexNet: size 5, alpha 1e-4, beta 0.75, k 1. Inputs up
  // to 200 (activation scale) make the divisor about 2-4, not the identity.
  check_lrn(random_tensor({2, 7, 4, 3}, -200.0f, 200.0f), LrnParams{5, 1e-4f, 0.75f, 1.0f},
            "size 5");
}

TEST(Lrn, StrongNormalisation) {
  check_lrn(random_tensor({2, 6, 3, 5}), LrnParams{3, 0.5f, 0.75f, 2.0f}, "size 3");
  check_lrn(random_tensor({1, 3, 4, 4}), LrnParams{7, 1.0f, 0.5f, 1.0f}, "window wider than C");
  check_lrn(random_tensor({1, 5, 2, 2}), LrnParams{1, 0.3f, 1.0f, 1.0f}, "size 1");
}

TEST(Lrn, BlockedChannels) {
  Tensor x = random_tensor({2, 20, 3, 3}, -3.0f, 3.0f);
  const LrnParams p{5, 0.1f, 0.75f, 1.0f};
  Tensor y = local_response_norm(testing::to_blocked(x), p);
  EXPECT_FALSE(y.is_plain());
  expect_close(y, reference::local_response_norm(reference::from_tensor(x), p), 1e-4, "blocked");
  check_lrn(testing::to_blocked(x), p, "blocked gradients");
}

TEST(LrnDeathTest, EvenSizeIsRefused) {
  Tensor x = random_tensor({1, 4, 2, 2});
  EXPECT_DEATH(local_response_norm(x, LrnParams{4, 1e-4f, 0.75f, 1.0f}), "must be odd");
}

}  // namespace
}  // namespace ringmaster::ops
