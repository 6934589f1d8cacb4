// conv_transpose2d: forward against the reference and backward (dx, dw, db)
// against finite differences of the reference, one test per path (stride,
// padding, output_padding, dilation, groups, bias, blocked layouts), plus the
// defining identity: conv_transpose2d is conv2d's input gradient.
#include "ops/reference/conv_transpose2d.h"

#include "op_test_util.h"
#include "ops/conv2d.h"
#include "ops/conv_transpose2d.h"

namespace ringmaster::ops {
namespace {

using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

// x: (N, C, H, W), w: (C, O/groups, KH, KW); bias (O) when with_bias.
void check_deconv(const Shape& x_shape, const Shape& w_shape, const ConvTranspose2dParams& p,
                  bool with_bias, const std::string& what) {
  SCOPED_TRACE(what);
  Tensor x = random_tensor(x_shape);
  Tensor w = random_tensor(w_shape);
  Tensor b = with_bias ? random_tensor({w_shape[1] * p.groups}) : Tensor();
  const RefTensor rb = with_bias ? reference::from_tensor(b) : RefTensor();
  expect_close(
      conv_transpose2d(x, w, b, p),
      reference::conv_transpose2d(reference::from_tensor(x), reference::from_tensor(w), rb, p),
      1e-4, what + " forward");
  check_gradients(
      [&](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], in[2], p); },
      [&](const std::vector<RefTensor>& in) {
        return reference::conv_transpose2d(in[0], in[1], in[2], p);
      },
      {x, w, b}, {true, true, with_bias});
}

ConvTranspose2dParams params(int64_t stride, int64_t pad, int64_t out_pad = 0, int64_t dilation = 1,
                             int64_t groups = 1) {
  ConvTranspose2dParams p = ConvTranspose2dParams::symmetric(stride, pad, out_pad);
  p.dilation = {dilation, dilation};
  p.groups = groups;
  return p;
}

TEST(ConvTranspose2d, OutputSize) {
  EXPECT_EQ(conv_transpose_output_size(7, 4, 2, 1, 1, 1, 0), 14);   // exact 2x upsampling
  EXPECT_EQ(conv_transpose_output_size(4, 16, 8, 4, 4, 1, 0), 32);  // exact 8x upsampling
  EXPECT_EQ(conv_transpose_output_size(5, 3, 2, 1, 1, 1, 1), 10);   // output_padding
  EXPECT_EQ(conv_transpose_output_size(3, 3, 1, 0, 0, 2, 0), 7);    // dilation
}

TEST(ConvTranspose2d, Stride1WithBias) {
  check_deconv({2, 3, 5, 4}, {3, 4, 3, 3}, params(1, 0), true, "stride 1");
}

TEST(ConvTranspose2d, Stride2Padding1) {
  check_deconv({2, 3, 4, 5}, {3, 5, 4, 4}, params(2, 1), true, "stride 2 pad 1 kernel 4");
}

TEST(ConvTranspose2d, OutputPadding) {
  check_deconv({1, 2, 4, 3}, {2, 3, 3, 3}, params(2, 1, 1), true, "output_padding 1");
  check_deconv({1, 2, 3, 3}, {2, 2, 3, 3}, params(3, 0, 2), true, "stride 3 output_padding 2");
}

TEST(ConvTranspose2d, AsymmetricStridePaddingAndKernel) {
  ConvTranspose2dParams p;
  p.stride = {2, 3};
  p.padding_begin = {1, 0};
  p.padding_end = {0, 2};
  p.output_padding = {1, 0};
  check_deconv({2, 3, 4, 3}, {3, 2, 3, 4}, p, true, "asymmetric");
}

TEST(ConvTranspose2d, Dilation2) {
  check_deconv({1, 3, 4, 4}, {3, 2, 3, 3}, params(1, 1, 0, 2), true, "dilation 2");
  check_deconv({1, 2, 3, 4}, {2, 3, 2, 3}, params(2, 0, 1, 2), false, "dilation 2 stride 2");
}

TEST(ConvTranspose2d, Groups) {
  check_deconv({2, 4, 4, 3}, {4, 3, 3, 3}, params(2, 1, 0, 1, 2), true, "groups 2");
  check_deconv({1, 3, 3, 3}, {3, 1, 4, 4}, params(2, 1, 0, 1, 3), true, "depthwise");
}

TEST(ConvTranspose2d, NoBiasAndBlockedChannels) {
  check_deconv({1, 17, 3, 3}, {17, 16, 4, 4}, params(2, 1), false, "17 -> 16 channels");
  // A blocked input (as a conv output would be) gives the same answer.
  Tensor x = random_tensor({2, 16, 3, 4});
  Tensor w = random_tensor({16, 5, 4, 4});
  const ConvTranspose2dParams p = params(2, 1);
  const RefTensor want = reference::conv_transpose2d(reference::from_tensor(x),
                                                     reference::from_tensor(w), RefTensor(), p);
  expect_close(conv_transpose2d(testing::to_blocked(x), w, Tensor(), p), want, 1e-4, "blocked x");
}

TEST(ConvTranspose2d, FrozenWeightsAndDataInput) {
  Tensor x = random_tensor({2, 3, 4, 4});
  Tensor w = random_tensor({3, 2, 3, 3});
  Tensor b = random_tensor({2});
  const ConvTranspose2dParams p = params(2, 1, 1);
  auto ours = [&](const std::vector<Tensor>& in) {
    return conv_transpose2d(in[0], in[1], in[2], p);
  };
  auto ref = [&](const std::vector<RefTensor>& in) {
    return reference::conv_transpose2d(in[0], in[1], in[2], p);
  };
  check_gradients(ours, ref, {x, w, b}, {false, true, true});
  check_gradients(ours, ref, {x, w, b}, {true, false, false});
  // Frozen weights, trained bias: db alone (a channel sum), with and without dx.
  check_gradients(ours, ref, {x, w, b}, {false, false, true});
  check_gradients(ours, ref, {x, w, b}, {true, false, true});
  // 16 channels each way, so oneDNN may pick blocked layouts.
  Tensor x16 = random_tensor({2, 16, 3, 5});
  Tensor w16 = random_tensor({16, 16, 3, 3});
  Tensor b16 = random_tensor({16});
  check_gradients(ours, ref, {x16, w16, b16}, {false, false, true});
}

TEST(ConvTranspose2d, IsTheInputGradientOfConv2d) {
  // y = conv2d(x, w): dL/dx for dL/dy = g equals conv_transpose2d(g, w) with
  // the same stride/padding/dilation/groups, and output_padding restoring x's size.
  Tensor x = random_tensor({2, 4, 9, 8});
  Tensor w = random_tensor({6, 2, 3, 3});  // conv2d: (O, C/G, KH, KW) = deconv (C', O'/G, ...)
  Conv2dParams cp = Conv2dParams::same_padding(1, 2);
  cp.groups = 2;
  Tensor xl = x.detach();
  xl.set_requires_grad(true);
  Tensor y = conv2d(xl, w, Tensor(), cp);
  Tensor g = random_tensor(y.shape());
  y.backward(g);
  ConvTranspose2dParams tp = params(2, 1, 0, 1, 2);
  tp.output_padding = {(9 + 2 - 3) % 2, (8 + 2 - 3) % 2};
  expect_close(conv_transpose2d(g, w, Tensor(), tp), reference::from_tensor(xl.grad()), 1e-4,
               "deconv(g) vs conv2d's dx");
}

TEST(ConvTranspose2d, InferenceMatchesTraining) {
  Tensor x = random_tensor({2, 16, 5, 5});
  Tensor w = random_tensor({16, 8, 4, 4});
  Tensor b = random_tensor({8});
  const ConvTranspose2dParams p = params(2, 1);
  Tensor wt = w.detach();
  wt.set_requires_grad(true);
  const RefTensor trained = reference::from_tensor(conv_transpose2d(x, wt, b, p));
  NoGradGuard no_grad;
  Tensor y = conv_transpose2d(x, wt, b, p);
  EXPECT_FALSE(y.grad_fn());
  expect_close(y, trained, 1e-6, "inference vs training");
}

TEST(ConvTranspose2dDeathTest, OutputPaddingMustBeBelowStride) {
  Tensor x = random_tensor({1, 2, 3, 3});
  Tensor w = random_tensor({2, 2, 3, 3});
  EXPECT_DEATH(conv_transpose2d(x, w, Tensor(), params(2, 1, 2)), "output_padding");
}

}  // namespace
}  // namespace ringmaster::ops
