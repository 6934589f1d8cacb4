// linear: forward against the reference (with and without bias, fused relu,
// 4-d plain and blocked input), backward against finite differences, and the
// fused-relu backward against an unfused linear followed by relu.
#include "ops/linear.h"

#include "op_test_util.h"
#include "ops/reference/linear.h"
#include "ops/reference/relu.h"
#include "ops/relu.h"

namespace ringmaster::ops {
namespace {

using reference::from_tensor;
using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

RefTensor ref_or_empty(const Tensor& t) { return t.defined() ? from_tensor(t) : RefTensor(); }

void expect_forward(const Tensor& x, int64_t out, bool bias, bool relu, const std::string& what) {
  const int64_t in = x.numel() / x.dim(0);
  Tensor w = random_tensor({out, in});
  Tensor b = bias ? random_tensor({out}) : Tensor();
  Tensor y = linear(x, w, b, relu);
  EXPECT_TRUE(y.is_plain()) << what;
  expect_close(y, reference::linear(from_tensor(x), from_tensor(w), ref_or_empty(b), relu), 1e-4,
               what);
}

TEST(Linear, ForwardWithBiasMatchesReference) {
  expect_forward(random_tensor({5, 13}), 7, true, false, "(5, 13) -> 7");
  expect_forward(random_tensor({1, 31}), 3, true, false, "batch 1");
}

TEST(Linear, ForwardWithoutBiasMatchesReference) {
  expect_forward(random_tensor({6, 9}), 11, false, false, "(6, 9) -> 11");
  expect_forward(random_tensor({1, 5}), 1, false, false, "batch 1, out 1");
}

TEST(Linear, FusedReluForwardMatchesReference) {
  expect_forward(random_tensor({7, 10}), 9, true, true, "fused relu with bias");
  expect_forward(random_tensor({3, 10}), 4, false, true, "fused relu without bias");
}

TEST(Linear, FourDimPlainInputIsFlattened) {
  expect_forward(random_tensor({3, 5, 4, 3}), 6, true, false, "(3, 5, 4, 3) plain");
}

TEST(Linear, FourDimBlockedInputIsFlattened) {
  // 5 channels padded to 16 in nChw16c: the padding must not leak into y.
  Tensor x = testing::to_blocked(random_tensor({2, 5, 3, 3}));
  expect_forward(x, 7, true, false, "(2, 5, 3, 3) nChw16c");
  expect_forward(testing::to_blocked(random_tensor({1, 17, 2, 1})), 4, true, true,
                 "(1, 17, 2, 1) nChw16c, fused relu");
}

TEST(Linear, RepeatedCallsWithNewValuesStayCorrect) {
  // The second call reuses the cached primitives with fresh buffers.
  for (int i = 0; i < 2; ++i) expect_forward(random_tensor({4, 8}), 5, true, false, "repeat");
}

void check_linear_gradients(const Tensor& x, int64_t out, bool bias, bool relu) {
  const int64_t in = x.numel() / x.dim(0);
  Tensor w = random_tensor({out, in});
  Tensor b = bias ? random_tensor({out}) : Tensor();
  check_gradients(
      [relu](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2], relu); },
      [relu](const std::vector<RefTensor>& v) { return reference::linear(v[0], v[1], v[2], relu); },
      {x, w, b}, {true, true, bias});
}

TEST(Linear, BackwardWithBiasMatchesFiniteDifferences) {
  check_linear_gradients(random_tensor({5, 7}), 3, true, false);
  check_linear_gradients(random_tensor({1, 4}), 6, true, false);
}

TEST(Linear, BackwardWithoutBiasMatchesFiniteDifferences) {
  check_linear_gradients(random_tensor({3, 9}), 5, false, false);
}

TEST(Linear, FusedReluBackwardMatchesFiniteDifferences) {
  check_linear_gradients(random_tensor({4, 6}), 5, true, true);
}

TEST(Linear, BackwardFourDimPlainAndBlockedInput) {
  check_linear_gradients(random_tensor({2, 3, 2, 3}), 4, true, false);
  check_linear_gradients(testing::to_blocked(random_tensor({3, 5, 2, 2})), 4, true, false);
}

TEST(Linear, FusedReluBackwardEqualsUnfused) {
  Tensor x = random_tensor({6, 11});
  Tensor w = random_tensor({7, 11});
  Tensor b = random_tensor({7});
  Tensor dy = random_tensor({6, 7});
  std::vector<Tensor> fused_grads, unfused_grads;
  for (bool fused : {true, false}) {
    Tensor xl = x.detach().set_requires_grad(true);
    Tensor wl = w.detach().set_requires_grad(true);
    Tensor bl = b.detach().set_requires_grad(true);
    Tensor y = fused ? linear(xl, wl, bl, true) : relu(linear(xl, wl, bl));
    y.backward(dy);
    (fused ? fused_grads : unfused_grads) = {xl.grad(), wl.grad(), bl.grad()};
  }
  for (size_t i = 0; i < 3; ++i)
    expect_close(fused_grads[i], from_tensor(unfused_grads[i]), 1e-5,
                 "fused vs unfused grad " + std::to_string(i));
}

}  // namespace
}  // namespace ringmaster::ops
