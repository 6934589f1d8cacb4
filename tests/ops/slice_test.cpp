// slice and crop2d: forward against the reference on several axes and ranks,
// gradients against finite differences, blocked input, empty and full ranges.
#include "ops/reference/slice.h"

#include "op_test_util.h"
#include "ops/slice.h"

namespace ringmaster::ops {
namespace {

using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

void check_slice(const Tensor& x, int axis, int64_t start, int64_t end, const std::string& what) {
  SCOPED_TRACE(what);
  Tensor y = slice(x, axis, start, end);
  EXPECT_TRUE(y.is_plain());
  expect_close(y, reference::slice(reference::from_tensor(x), axis, start, end), 0.0, what);
  check_gradients(
      [&](const std::vector<Tensor>& in) { return slice(in[0], axis, start, end); },
      [&](const std::vector<RefTensor>& in) { return reference::slice(in[0], axis, start, end); },
      {x}, {true});
}

TEST(Slice, EveryAxisOf4d) {
  Tensor x = random_tensor({3, 4, 5, 6});
  check_slice(x, 0, 1, 3, "axis 0");
  check_slice(x, 1, 0, 2, "axis 1");
  check_slice(x, 2, 2, 5, "axis 2");
  check_slice(x, -1, 1, 4, "axis -1");
  check_slice(x, 3, 0, 6, "whole axis");
}

TEST(Slice, OtherRanksAndBlockedInput) {
  check_slice(random_tensor({7}), 0, 2, 6, "1-d");
  check_slice(random_tensor({4, 9}), 1, 3, 8, "2-d");
  check_slice(testing::to_blocked(random_tensor({2, 17, 3, 3})), 1, 5, 17, "blocked channels");
}

TEST(Slice, EmptyRange) {
  Tensor y = slice(random_tensor({2, 3}), 1, 2, 2);
  EXPECT_EQ(y.shape(), (Shape{2, 0}));
}

TEST(Crop2d, MatchesTwoSlicesWithGradients) {
  Tensor x = random_tensor({2, 3, 9, 8});
  auto ours = [](const std::vector<Tensor>& in) { return crop2d(in[0], 2, 1, 5, 6); };
  auto ref = [](const std::vector<RefTensor>& in) {
    return reference::slice(reference::slice(in[0], 2, 2, 7), 3, 1, 7);
  };
  expect_close(ours({x}), ref({reference::from_tensor(x)}), 0.0, "crop");
  check_gradients(ours, ref, {x}, {true});
}

TEST(SliceDeathTest, OutOfRangeAborts) {
  Tensor x = random_tensor({2, 3});
  EXPECT_DEATH(slice(x, 1, 1, 4), "out of range");
}

}  // namespace
}  // namespace ringmaster::ops
