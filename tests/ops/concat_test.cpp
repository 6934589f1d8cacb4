// concat: three inputs on axis 1, 0 and -1 against the reference with
// gradients, blocked inputs, batch 1 and a non-float dtype.
#include "ops/concat.h"

#include "op_test_util.h"
#include "ops/reference/concat.h"

namespace ringmaster::ops {
namespace {

using reference::from_tensor;
using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

std::vector<RefTensor> refs(const std::vector<Tensor>& xs) {
  std::vector<RefTensor> r;
  for (const Tensor& x : xs) r.push_back(from_tensor(x));
  return r;
}

void check_concat(const std::vector<Tensor>& xs, int axis, const std::string& what) {
  Tensor y = concat(xs, axis);
  EXPECT_TRUE(y.is_plain());
  expect_close(y, reference::concat(refs(xs), axis), 1e-7, what);
  check_gradients([axis](const std::vector<Tensor>& v) { return concat(v, axis); },
                  [axis](const std::vector<RefTensor>& v) { return reference::concat(v, axis); },
                  xs, std::vector<bool>(xs.size(), true));
}

TEST(Concat, ThreeInputsOnChannels) {
  check_concat(
      {random_tensor({2, 3, 4, 5}), random_tensor({2, 1, 4, 5}), random_tensor({2, 6, 4, 5})}, 1,
      "axis 1");
  check_concat(
      {random_tensor({1, 2, 3, 3}), random_tensor({1, 5, 3, 3}), random_tensor({1, 1, 3, 3})}, 1,
      "axis 1, batch 1");
}

TEST(Concat, ThreeInputsOnFirstAndLastAxis) {
  check_concat({random_tensor({2, 3, 5}), random_tensor({1, 3, 5}), random_tensor({4, 3, 5})}, 0,
               "axis 0");
  check_concat({random_tensor({2, 3, 5}), random_tensor({2, 3, 1}), random_tensor({2, 3, 7})}, -1,
               "axis -1");
}

TEST(Concat, OnlySomeInputsNeedGradients) {
  std::vector<Tensor> xs{random_tensor({3, 2}), random_tensor({3, 4}), random_tensor({3, 1})};
  check_gradients([](const std::vector<Tensor>& v) { return concat(v, 1); },
                  [](const std::vector<RefTensor>& v) { return reference::concat(v, 1); }, xs,
                  {false, true, false});
}

TEST(Concat, BlockedInputsAreMadePlain) {
  check_concat({testing::to_blocked(random_tensor({2, 3, 2, 3})), random_tensor({2, 4, 2, 3}),
                testing::to_blocked(random_tensor({2, 17, 2, 3}))},
               1, "blocked and plain on axis 1");
}

TEST(Concat, CopiesIntegerTensors) {
  Tensor a = Tensor::empty({2, 1}, DType::i64), b = Tensor::empty({2, 2}, DType::i64);
  for (int i = 0; i < 2; ++i) a.data<int64_t>()[i] = 10 + i;
  for (int i = 0; i < 4; ++i) b.data<int64_t>()[i] = 20 + i;
  Tensor y = concat({a, b}, 1);
  ASSERT_EQ(y.shape(), (Shape{2, 3}));
  const int64_t* v = y.data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(v, v + 6), (std::vector<int64_t>{10, 20, 21, 11, 22, 23}));
}

}  // namespace
}  // namespace ringmaster::ops
