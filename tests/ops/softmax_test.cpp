// softmax on every axis and softmax_cross_entropy: forward against the
// reference, backward against finite differences and the closed form,
// large-logit stability, blocked input, and out-of-range labels.
#include "ops/softmax.h"

#include <cmath>

#include "op_test_util.h"
#include "ops/reference/softmax.h"

namespace ringmaster::ops {
namespace {

using reference::from_tensor;
using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

std::vector<int64_t> random_labels(int64_t n, int64_t c) {
  std::uniform_int_distribution<int64_t> dist(0, c - 1);
  std::vector<int64_t> l(static_cast<size_t>(n));
  for (int64_t& v : l) v = dist(testing::rng());
  return l;
}

Tensor labels_tensor(const std::vector<int64_t>& l, DType dtype) {
  return testing::int_tensor(l, dtype);
}

TEST(Softmax, ForwardMatchesReferenceOnEveryAxis) {
  Tensor x = random_tensor({3, 4, 5, 2}, -3.0f, 3.0f);
  for (int axis : {0, 1, 2, 3, -1, -3}) {
    expect_close(softmax(x, axis), reference::softmax(from_tensor(x), axis), 1e-5,
                 "axis " + std::to_string(axis));
  }
  Tensor v = random_tensor({7});
  expect_close(softmax(v), reference::softmax(from_tensor(v), 0), 1e-5, "1-d");
  Tensor b = random_tensor({1, 9});
  expect_close(softmax(b), reference::softmax(from_tensor(b), 1), 1e-5, "batch 1");
}

TEST(Softmax, LargeLogitsStayFinite) {
  Tensor x = Tensor::from_vector({1000.0f, 1000.0f, -1000.0f, 1000.0f}, {2, 2});
  std::vector<float> y = softmax(x, 1).to_vector();
  EXPECT_NEAR(y[0], 0.5f, 1e-6f);
  EXPECT_NEAR(y[1], 0.5f, 1e-6f);
  EXPECT_NEAR(y[2], 0.0f, 1e-6f);
  EXPECT_NEAR(y[3], 1.0f, 1e-6f);
}

TEST(Softmax, BackwardMatchesFiniteDifferencesOnEveryAxis) {
  Tensor x = random_tensor({2, 3, 5}, -2.0f, 2.0f);
  for (int axis : {0, 1, 2, -1}) {
    check_gradients(
        [axis](const std::vector<Tensor>& v) { return softmax(v[0], axis); },
        [axis](const std::vector<RefTensor>& v) { return reference::softmax(v[0], axis); }, {x},
        {true});
  }
}

TEST(Softmax, BlockedInputIsMadePlain) {
  Tensor x = testing::to_blocked(random_tensor({2, 5, 3, 3}));
  Tensor y = softmax(x, 1);
  EXPECT_TRUE(y.is_plain());
  expect_close(y, reference::softmax(from_tensor(x), 1), 1e-5, "nChw16c, axis 1");
  check_gradients([](const std::vector<Tensor>& v) { return softmax(v[0], 1); },
                  [](const std::vector<RefTensor>& v) { return reference::softmax(v[0], 1); }, {x},
                  {true});
}

TEST(SoftmaxCrossEntropy, ValueMatchesReferenceForI64AndI32Labels) {
  for (DType dt : {DType::i64, DType::i32}) {
    for (const Shape& s : {Shape{6, 10}, Shape{1, 3}, Shape{13, 1}}) {
      Tensor logits = random_tensor(s, -4.0f, 4.0f);
      const std::vector<int64_t> l = random_labels(s[0], s[1]);
      Tensor loss = softmax_cross_entropy(logits, labels_tensor(l, dt));
      EXPECT_EQ(loss.shape(), Shape{});
      expect_close(loss, reference::softmax_cross_entropy(from_tensor(logits), l), 1e-5,
                   std::string(dtype_name(dt)) + " " + shape_str(s));
    }
  }
}

TEST(SoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  const std::vector<int64_t> l = random_labels(5, 7);
  Tensor labels = labels_tensor(l, DType::i64);
  check_gradients(
      [&](const std::vector<Tensor>& v) { return softmax_cross_entropy(v[0], labels); },
      [&](const std::vector<RefTensor>& v) { return reference::softmax_cross_entropy(v[0], l); },
      {random_tensor({5, 7}, -2.0f, 2.0f)}, {true});
}

TEST(SoftmaxCrossEntropy, GradientIsSoftmaxMinusOneHotOverNTimesDy) {
  const int64_t n = 4, c = 6;
  const std::vector<int64_t> l = random_labels(n, c);
  Tensor logits = random_tensor({n, c}, -2.0f, 2.0f).set_requires_grad(true);
  softmax_cross_entropy(logits, labels_tensor(l, DType::i32))
      .backward(Tensor::from_vector({2.5f}, {}));
  RefTensor want = reference::softmax(from_tensor(logits), 1);
  for (int64_t i = 0; i < n; ++i) {
    want.v[static_cast<size_t>(i * c + l[static_cast<size_t>(i)])] -= 1.0;
  }
  for (double& v : want.v) v *= 2.5 / static_cast<double>(n);
  expect_close(logits.grad(), want, 1e-5, "closed form");
}

TEST(SoftmaxCrossEntropy, OutOfRangeLabelThrows) {
  Tensor logits = random_tensor({3, 4});
  EXPECT_THROW(softmax_cross_entropy(logits, labels_tensor({0, 4, 1}, DType::i64)), Error);
  EXPECT_THROW(softmax_cross_entropy(logits, labels_tensor({0, 1, -1}, DType::i32)), Error);
  try {
    softmax_cross_entropy(logits, labels_tensor({0, 7, 1}, DType::i64));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("row 1"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ringmaster::ops
