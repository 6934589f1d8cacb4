// LeafGradHook: each leaf is reported once per backward, only when its
// gradient is final (all its uses ran), in backward order.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ops/add.h"
#include "ops/autograd.h"
#include "ops/linear.h"
#include "ops/relu.h"
#include "ops/softmax.h"

namespace ringmaster::ops {
namespace {

struct Seen {
  const TensorImpl* id;
  std::vector<float> grad;  // the gradient when reported
};

TEST(LeafGradHook, ReportsEachLeafOnceWithItsFinalGradientInBackwardOrder) {
  std::mt19937_64 rng(std::random_device{}());
  const int64_t n = 5, in = 7, hidden = 3, classes = 4;
  Tensor x = Tensor::randn({n, in}, rng);
  Tensor w1 = Tensor::randn({hidden, in}, rng).set_requires_grad(true);
  Tensor b1 = Tensor::randn({hidden}, rng).set_requires_grad(true);
  Tensor w2 = Tensor::randn({classes, hidden}, rng).set_requires_grad(true);
  Tensor b2 = Tensor::randn({classes}, rng).set_requires_grad(true);
  Tensor unused = Tensor::randn({2}, rng).set_requires_grad(true);
  Tensor labels = Tensor::zeros({n}, DType::i64);
  for (int64_t i = 0; i < n; ++i) labels.data<int64_t>()[i] = i % classes;

  // w2 is used twice: by the head and by a second head summed into the
  // logits, so it is final only after both ran.
  Tensor h = relu(linear(x, w1, b1));
  Tensor logits = add(linear(h, w2, b2), linear(h, w2, Tensor()));
  Tensor loss = softmax_cross_entropy(logits, labels);

  std::vector<Seen> seen;
  {
    LeafGradHookGuard guard([&](const Tensor& leaf) {
      seen.push_back({leaf.id(), leaf.grad().to_plain().to_vector()});
    });
    loss.backward();
  }
  ASSERT_EQ(seen.size(), 4u);  // not `unused`, which no gradient reached
  for (const Seen& s : seen) EXPECT_NE(s.id, unused.id());
  // Each once, with the gradient it ends up with.
  for (const Tensor* p : {&w1, &b1, &w2, &b2}) {
    int count = 0;
    for (const Seen& s : seen) {
      if (s.id != p->id()) continue;
      ++count;
      EXPECT_EQ(s.grad, p->grad().to_plain().to_vector());
    }
    EXPECT_EQ(count, 1);
  }
  // The head's parameters before the first layer's (backward order).
  auto position = [&](const Tensor& t) {
    for (size_t i = 0; i < seen.size(); ++i)
      if (seen[i].id == t.id()) return i;
    return seen.size();
  };
  EXPECT_LT(position(b2), position(w1));
  EXPECT_LT(position(w2), position(w1));

  // Outside the guard nothing is reported.
  seen.clear();
  Tensor again = softmax_cross_entropy(linear(relu(linear(x, w1, b1)), w2, b2), labels);
  again.backward();
  EXPECT_TRUE(seen.empty());
}

TEST(LeafGradHook, ALeafRootIsReported) {
  Tensor a = Tensor::full({3}, 2.0f).set_requires_grad(true);
  int calls = 0;
  LeafGradHookGuard guard([&](const Tensor& leaf) {
    EXPECT_EQ(leaf.id(), a.id());
    ++calls;
  });
  a.backward(Tensor::full({3}, 1.0f));
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace ringmaster::ops
