// add: forward against the reference in plain and mixed layouts (the output
// takes a's layout), gradients by finite differences, add(x, x), and leaf
// gradients that must not share a buffer.
#include "ops/add.h"

#include "op_test_util.h"
#include "ops/reference/add.h"

namespace ringmaster::ops {
namespace {

using reference::from_tensor;
using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;
using testing::to_blocked;

RefTensor ref_add(const Tensor& a, const Tensor& b) {
  return reference::add(from_tensor(a), from_tensor(b));
}

TEST(Add, ForwardMatchesReference) {
  for (const Shape& s : {Shape{1}, Shape{7, 3}, Shape{1, 5, 3, 3}, Shape{3, 17, 2, 5}}) {
    Tensor a = random_tensor(s), b = random_tensor(s);
    expect_close(add(a, b), ref_add(a, b), 1e-6, "add " + shape_str(s));
  }
}

TEST(Add, MixedLayoutsTakeTheLayoutOfA) {
  Tensor plain = random_tensor({2, 5, 3, 3});
  Tensor blocked = to_blocked(random_tensor({2, 5, 3, 3}));
  Tensor y1 = add(blocked, plain);
  EXPECT_FALSE(y1.is_plain());
  expect_close(y1, ref_add(blocked, plain), 1e-6, "blocked + plain");
  Tensor y2 = add(plain, blocked);
  EXPECT_TRUE(y2.is_plain());
  expect_close(y2, ref_add(plain, blocked), 1e-6, "plain + blocked");
  Tensor y3 = add(blocked, blocked);
  EXPECT_FALSE(y3.is_plain());
  expect_close(y3, ref_add(blocked, blocked), 1e-6, "blocked + blocked");
}

TEST(Add, BackwardMatchesFiniteDifferences) {
  auto ours = [](const std::vector<Tensor>& v) { return add(v[0], v[1]); };
  auto ref = [](const std::vector<RefTensor>& v) { return reference::add(v[0], v[1]); };
  check_gradients(ours, ref, {random_tensor({3, 4}), random_tensor({3, 4})}, {true, true});
  check_gradients(ours, ref, {random_tensor({3, 4}), random_tensor({3, 4})}, {false, true});
}

TEST(Add, BackwardWithMixedLayouts) {
  auto ours = [](const std::vector<Tensor>& v) { return add(v[0], v[1]); };
  auto ref = [](const std::vector<RefTensor>& v) { return reference::add(v[0], v[1]); };
  check_gradients(ours, ref, {to_blocked(random_tensor({2, 3, 2, 2})), random_tensor({2, 3, 2, 2})},
                  {true, true});
  check_gradients(ours, ref, {random_tensor({1, 5, 2, 3}), to_blocked(random_tensor({1, 5, 2, 3}))},
                  {true, true});
}

TEST(Add, SameTensorTwiceGetsTwiceTheGradient) {
  Tensor x = random_tensor({4, 5}).set_requires_grad(true);
  Tensor dy = random_tensor({4, 5});
  add(x, x).backward(dy);
  RefTensor want = from_tensor(dy);
  for (double& v : want.v) v *= 2.0;
  expect_close(x.grad(), want, 1e-6, "d(x + x)/dx");
}

TEST(Add, LeafGradientsDoNotShareStorage) {
  Tensor a = random_tensor({3, 3}).set_requires_grad(true);
  Tensor b = random_tensor({3, 3}).set_requires_grad(true);
  add(a, b).backward(random_tensor({3, 3}));
  ASSERT_TRUE(a.grad().defined() && b.grad().defined());
  EXPECT_FALSE(a.grad().same_storage(b.grad()));
  EXPECT_EQ(a.grad().to_vector(), b.grad().to_vector());
}

}  // namespace
}  // namespace ringmaster::ops
