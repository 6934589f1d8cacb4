// dropout: eval and p == 0 are the identity, forward against the reference,
// the empirical drop rate, mask reproducibility (same seed, any thread count),
// backward = mask * scale * dy, finite differences, and blocked input.
#include "ops/dropout.h"

#include <cmath>
#include <cstring>

#include "op_test_util.h"
#include "ops/device_memory.h"
#include "ops/reference/dropout.h"

namespace ringmaster::ops {
namespace {

using reference::from_tensor;
using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

uint64_t random_seed() { return testing::rng()(); }

// Inputs bounded away from zero, so y == 0 exactly where the mask dropped.
Tensor nonzero_tensor(const Shape& s) { return random_tensor(s, 0.5f, 1.5f); }

TEST(Dropout, EvalIsIdentity) {
  Tensor x = random_tensor({3, 7});
  Tensor y = dropout(x, 0.5f, false, random_seed());
  EXPECT_TRUE(y.same_storage(x));
  EXPECT_EQ(y.id(), x.id());
}

TEST(Dropout, ZeroProbabilityIsIdentity) {
  Tensor x = random_tensor({5}).set_requires_grad(true);
  Tensor y = dropout(x, 0.0f, true, random_seed());
  EXPECT_EQ(y.id(), x.id());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Dropout, ForwardMatchesReference) {
  for (float p : {0.1f, 0.5f, 0.9f}) {
    Tensor x = random_tensor({4, 3, 5, 7});
    const uint64_t seed = random_seed();
    expect_close(dropout(x, p, true, seed), reference::dropout(from_tensor(x), p, seed), 1e-6,
                 "p " + std::to_string(p));
  }
}

TEST(Dropout, ProbabilityOneZeroesEverything) {
  std::vector<float> y = dropout(nonzero_tensor({17}), 1.0f, true, random_seed()).to_vector();
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

TEST(Dropout, EmpiricalDropRateIsNearP) {
  const int64_t n = 100003;
  Tensor x = Tensor::full({n}, 1.0f);
  for (float p : {0.2f, 0.5f, 0.7f}) {
    std::vector<float> y = dropout(x, p, true, random_seed()).to_vector();
    int64_t dropped = 0;
    for (float v : y) dropped += v == 0.0f;
    const double rate = static_cast<double>(dropped) / n;
    const double sigma = std::sqrt(p * (1.0 - p) / n);
    EXPECT_NEAR(rate, p, 5 * sigma) << "p " << p;
    for (float v : y) ASSERT_TRUE(v == 0.0f || std::fabs(v - 1.0f / (1.0f - p)) < 1e-6f) << v;
  }
}

TEST(Dropout, SameSeedSameMaskOnAnyThreadCount) {
  Tensor x = nonzero_tensor({1001, 3});
  const uint64_t seed = random_seed();
  const int threads = cpu_threads();
  set_cpu_threads(1);
  std::vector<float> one = dropout(x, 0.4f, true, seed).to_vector();
  set_cpu_threads(std::max(threads, 3));
  std::vector<float> many = dropout(x, 0.4f, true, seed).to_vector();
  set_cpu_threads(threads);
  EXPECT_EQ(one, many);
  std::vector<float> other = dropout(x, 0.4f, true, seed + 1).to_vector();
  EXPECT_NE(one, other) << "a different seed should give a different mask";
}

TEST(Dropout, BackwardIsMaskTimesScaleTimesDy) {
  const float p = 0.3f;
  Tensor x = nonzero_tensor({6, 11}).set_requires_grad(true);
  Tensor y = dropout(x, p, true, random_seed());
  Tensor dy = random_tensor(y.shape());
  y.backward(dy);
  const std::vector<float> yv = y.to_vector(), g = dy.to_vector(), dx = x.grad().to_vector();
  for (size_t i = 0; i < yv.size(); ++i) {
    const float want = yv[i] != 0.0f ? g[i] / (1.0f - p) : 0.0f;
    ASSERT_NEAR(dx[i], want, 1e-6f) << "element " << i;
  }
}

TEST(Dropout, BackwardMatchesFiniteDifferences) {
  const uint64_t seed = random_seed();
  check_gradients(
      [seed](const std::vector<Tensor>& v) { return dropout(v[0], 0.4f, true, seed); },
      [seed](const std::vector<RefTensor>& v) { return reference::dropout(v[0], 0.4f, seed); },
      {random_tensor({3, 2, 5})}, {true});
}

TEST(Dropout, BlockedInputKeepsLayoutAndPadding) {
  // 3 channels padded to 16: the 13 padding channels must stay zero.
  Tensor x = testing::to_blocked(nonzero_tensor({2, 3, 4, 5}));
  const uint64_t seed = random_seed();
  Tensor y = dropout(x, 0.5f, true, seed);
  ASSERT_FALSE(y.is_plain());
  ASSERT_EQ(y.nbytes(), x.nbytes());
  const float* xr = static_cast<const float*>(x.raw());
  const float* yr = static_cast<const float*>(y.raw());
  int64_t dropped = 0, kept = 0;
  for (size_t i = 0; i < x.nbytes() / sizeof(float); ++i) {
    if (xr[i] == 0.0f) {
      ASSERT_EQ(yr[i], 0.0f) << "padding element " << i;
    } else if (yr[i] == 0.0f) {
      ++dropped;
    } else {
      ++kept;
      ASSERT_NEAR(yr[i], 2.0f * xr[i], 1e-6f);
    }
  }
  EXPECT_GT(dropped, 0);
  EXPECT_GT(kept, 0);
  // Backward through the blocked layout: dx = 2 * dy where kept.
  Tensor xl = x.detach().set_requires_grad(true);
  Tensor yl = dropout(xl, 0.5f, true, seed);
  Tensor dy = random_tensor(x.shape());
  yl.backward(dy);
  const std::vector<float> yv = yl.to_vector(), g = dy.to_vector(), dx = xl.grad().to_vector();
  for (size_t i = 0; i < yv.size(); ++i)
    ASSERT_NEAR(dx[i], yv[i] != 0.0f ? 2.0f * g[i] : 0.0f, 1e-6f) << "element " << i;
}

}  // namespace
}  // namespace ringmaster::ops
