// reshape and flatten: -1 inference, views of plain inputs, ONNX Flatten
// axes (0, negative, last), blocked inputs, and gradients.
#include "ops/reshape.h"

#include "op_test_util.h"
#include "ops/reference/reshape.h"

namespace ringmaster::ops {
namespace {

using reference::from_tensor;
using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

TEST(Reshape, InfersMinusOneAndSharesStorage) {
  Tensor x = random_tensor({2, 3, 5});
  Tensor y = reshape(x, {-1, 5});
  EXPECT_EQ(y.shape(), (Shape{6, 5}));
  EXPECT_TRUE(y.same_storage(x));
  expect_close(y, reference::reshape(from_tensor(x), {6, 5}), 0.0, "values");
  EXPECT_EQ(reshape(x, {5, -1, 1}).shape(), (Shape{5, 6, 1}));
  EXPECT_EQ(reshape(x, {30}).shape(), (Shape{30}));
}

TEST(Reshape, BackwardMatchesFiniteDifferences) {
  check_gradients(
      [](const std::vector<Tensor>& v) {
        return reshape(v[0], {3, -1});
      },
      [](const std::vector<RefTensor>& v) {
        return reference::reshape(v[0], {3, -1});
      },
      {random_tensor({2, 3, 2})}, {true});
}

TEST(Reshape, BlockedInputIsMadePlain) {
  Tensor x = testing::to_blocked(random_tensor({2, 5, 3, 1}));
  Tensor y = reshape(x, {2, -1});
  EXPECT_TRUE(y.is_plain());
  expect_close(y, reference::reshape(from_tensor(x), {2, 15}), 0.0, "blocked");
  check_gradients(
      [](const std::vector<Tensor>& v) {
        return reshape(v[0], {5, -1});
      },
      [](const std::vector<RefTensor>& v) {
        return reference::reshape(v[0], {5, -1});
      },
      {x}, {true});
}

TEST(Flatten, FollowsOnnxAxes) {
  Tensor x = random_tensor({2, 3, 4, 5});
  EXPECT_EQ(flatten(x).shape(), (Shape{2, 60}));
  EXPECT_EQ(flatten(x, 0).shape(), (Shape{1, 120}));
  EXPECT_EQ(flatten(x, 2).shape(), (Shape{6, 20}));
  EXPECT_EQ(flatten(x, 4).shape(), (Shape{120, 1}));
  EXPECT_EQ(flatten(x, -1).shape(), (Shape{24, 5}));
  EXPECT_EQ(flatten(x, -4).shape(), (Shape{1, 120}));
  expect_close(flatten(x, -2), reference::reshape(from_tensor(x), {6, 20}), 0.0, "values");
}

TEST(Flatten, BlockedInputAndGradient) {
  Tensor x = testing::to_blocked(random_tensor({1, 3, 2, 2}));
  expect_close(flatten(x), reference::reshape(from_tensor(x), {1, 12}), 0.0, "blocked");
  check_gradients([](const std::vector<Tensor>& v) { return flatten(v[0], 1); },
                  [](const std::vector<RefTensor>& v) {
                    return reference::reshape(v[0], {1, -1});
                  },
                  {x}, {true});
}

}  // namespace
}  // namespace ringmaster::ops
