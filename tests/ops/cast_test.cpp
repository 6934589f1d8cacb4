// cast: f32 -> f16 -> f32 against the scalar rounding, the same-dtype
// shortcut, and gradients that come back in the input's dtype.
#include "ops/cast.h"

#include "op_test_util.h"
#include "ops/reference/cast.h"

namespace ringmaster::ops {
namespace {

using reference::from_tensor;
using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

TEST(Cast, RoundTripMatchesReferenceRounding) {
  for (const Shape& s : {Shape{1}, Shape{7}, Shape{3, 1001}}) {
    Tensor x = random_tensor(s, -100.0f, 100.0f);
    Tensor h = cast(x, DType::f16);
    EXPECT_EQ(h.dtype(), DType::f16);
    const RefTensor want = reference::cast(from_tensor(x), DType::f16);
    expect_close(h, want, 0.0, "f32 -> f16 " + shape_str(s));
    Tensor back = cast(h, DType::f32);
    EXPECT_EQ(back.dtype(), DType::f32);
    expect_close(back, want, 0.0, "f16 -> f32 " + shape_str(s));
  }
}

TEST(Cast, SameDtypeReturnsInput) {
  Tensor x = random_tensor({4});
  EXPECT_EQ(cast(x, DType::f32).id(), x.id());
}

TEST(Cast, BlockedInputIsMadePlain) {
  Tensor x = testing::to_blocked(random_tensor({2, 3, 2, 2}));
  Tensor h = cast(x, DType::f16);
  EXPECT_TRUE(h.is_plain());
  expect_close(h, reference::cast(from_tensor(x), DType::f16), 0.0, "blocked");
}

TEST(Cast, GradientComesBackInInputDtype) {
  Tensor x = random_tensor({3, 5}).set_requires_grad(true);
  Tensor h = cast(x, DType::f16);
  Tensor dy = random_tensor({3, 5});
  h.backward(cast(dy, DType::f16));
  ASSERT_EQ(x.grad().dtype(), DType::f32);
  expect_close(x.grad(), reference::cast(from_tensor(dy), DType::f16), 0.0, "f16 dy to f32");

  Tensor xh = cast(random_tensor({4}), DType::f16).set_requires_grad(true);
  Tensor dy2 = random_tensor({4});
  cast(xh, DType::f32).backward(dy2);
  ASSERT_EQ(xh.grad().dtype(), DType::f16);
  expect_close(xh.grad(), reference::cast(from_tensor(dy2), DType::f16), 0.0, "f32 dy to f16");
}

TEST(Cast, RoundTripGradientIsIdentityUpToHalfRounding) {
  // The derivative of a cast is taken as 1; finite differences through the
  // rounding itself would be 0 or huge, so the reference is the identity.
  check_gradients(
      [](const std::vector<Tensor>& v) { return cast(cast(v[0], DType::f16), DType::f32); },
      [](const std::vector<RefTensor>& v) { return v[0]; }, {random_tensor({5, 3})}, {true});
}

}  // namespace
}  // namespace ringmaster::ops
