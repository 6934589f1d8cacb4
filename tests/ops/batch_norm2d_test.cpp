// batch_norm2d: training and eval forward against the reference (plain and
// blocked input, batch 1), the running-statistic update, gradients of x,
// gamma and beta against finite differences, and the one-value-per-channel error.
#include "ops/batch_norm2d.h"

#include "op_test_util.h"
#include "ops/reference/batch_norm2d.h"

namespace ringmaster::ops {
namespace {

using reference::from_tensor;
using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

BatchNormParams params(bool training) {
  BatchNormParams p;
  p.training = training;
  p.momentum = 0.3f;
  return p;
}

struct Channels {
  Tensor gamma, beta, mean, var;
  explicit Channels(int64_t c)
      : gamma(random_tensor({c}, 0.5f, 1.5f)),
        beta(random_tensor({c})),
        mean(random_tensor({c}, -0.5f, 0.5f)),
        var(random_tensor({c}, 0.5f, 2.0f)) {}
};

void expect_forward(const Tensor& x, bool training, const std::string& what) {
  Channels ch(x.dim(1));
  const RefTensor rm = from_tensor(ch.mean), rv = from_tensor(ch.var);
  const BatchNormParams p = params(training);
  Tensor y = batch_norm2d(x, ch.gamma, ch.beta, ch.mean, ch.var, p);
  EXPECT_EQ(y.is_plain(), x.is_plain()) << what << ": y keeps x's layout";
  RefTensor new_rm, new_rv;
  expect_close(y,
               reference::batch_norm2d(from_tensor(x), from_tensor(ch.gamma), from_tensor(ch.beta),
                                       rm, rv, p, &new_rm, &new_rv),
               1e-4, what);
  // Training moves the running statistics; eval leaves them alone.
  expect_close(ch.mean, new_rm, 1e-5, what + ": running_mean");
  expect_close(ch.var, new_rv, 1e-5, what + ": running_var");
}

TEST(BatchNorm2d, TrainingForwardMatchesReference) {
  expect_forward(random_tensor({3, 5, 4, 7}), true, "(3, 5, 4, 7)");
  expect_forward(random_tensor({1, 3, 5, 5}), true, "batch 1");
}

TEST(BatchNorm2d, TrainingUpdatesRunningStatisticsUnbiased) {
  // (2, 3, 1, 1): two values per channel, so the unbiased factor is 2.
  Tensor x = random_tensor({2, 3, 1, 1}, -2.0f, 2.0f);
  expect_forward(x, true, "(2, 3, 1, 1)");
}

TEST(BatchNorm2d, EvalForwardUsesRunningStatistics) {
  expect_forward(random_tensor({2, 6, 3, 5}), false, "eval (2, 6, 3, 5)");
  expect_forward(random_tensor({1, 1, 1, 1}), false, "eval, one value");
}

TEST(BatchNorm2d, BlockedInputTrainingAndEval) {
  expect_forward(testing::to_blocked(random_tensor({2, 5, 3, 3})), true, "train nChw16c");
  expect_forward(testing::to_blocked(random_tensor({2, 18, 2, 3})), false, "eval nChw16c");
}

TEST(BatchNorm2d, TrainingWithoutRunningStatistics) {
  Tensor x = random_tensor({4, 3, 2, 2});
  Channels ch(3);
  const BatchNormParams p = params(true);
  expect_close(batch_norm2d(x, ch.gamma, ch.beta, Tensor(), Tensor(), p),
               reference::batch_norm2d(from_tensor(x), from_tensor(ch.gamma), from_tensor(ch.beta),
                                       RefTensor(), RefTensor(), p),
               1e-4, "untracked");
}

void check_bn_gradients(const Tensor& x, bool training) {
  Channels ch(x.dim(1));
  const BatchNormParams p = params(training);
  // Training: untracked (the update is checked above); eval: fixed statistics.
  Tensor mean = training ? Tensor() : ch.mean, var = training ? Tensor() : ch.var;
  check_gradients(
      [&](const std::vector<Tensor>& v) { return batch_norm2d(v[0], v[1], v[2], mean, var, p); },
      [&](const std::vector<RefTensor>& v) {
        return reference::batch_norm2d(v[0], v[1], v[2], from_tensor(ch.mean), from_tensor(ch.var),
                                       p);
      },
      {x, ch.gamma, ch.beta}, {true, true, true});
}

TEST(BatchNorm2d, TrainingBackwardMatchesFiniteDifferences) {
  check_bn_gradients(random_tensor({3, 4, 3, 5}), true);
  check_bn_gradients(random_tensor({1, 2, 3, 3}), true);
}

TEST(BatchNorm2d, EvalBackwardMatchesFiniteDifferences) {
  check_bn_gradients(random_tensor({2, 3, 4, 3}), false);
}

TEST(BatchNorm2d, BlockedBackwardMatchesFiniteDifferences) {
  check_bn_gradients(testing::to_blocked(random_tensor({2, 5, 3, 3})), true);
  check_bn_gradients(testing::to_blocked(random_tensor({2, 5, 2, 2})), false);
}

TEST(BatchNorm2d, TrainingWithOneValuePerChannelThrows) {
  Channels ch(4);
  EXPECT_THROW(
      batch_norm2d(random_tensor({1, 4, 1, 1}), ch.gamma, ch.beta, ch.mean, ch.var, params(true)),
      Error);
}

}  // namespace
}  // namespace ringmaster::ops
