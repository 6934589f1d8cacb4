// conv2d: forward against the reference and backward (dx, dw, db) against
// finite differences of the reference, one test per path (stride, padding,
// dilation, groups, bias, fused relu, layouts). Small odd shapes keep each
// test fast. DISABLED_TimeForwardBackward is a timing mode, not a check.
#include "ops/reference/conv2d.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <thread>

#include "op_test_util.h"
#include "ops/conv2d.h"
#include "ops/pool2d.h"
#include "ops/reference/pool2d.h"
#include "ops/reference/relu.h"
#include "ops/relu.h"

namespace ringmaster::ops {
namespace {

using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

// x: (N, C, H, W), w: (O, C/groups, KH, KW); bias (O) when with_bias.
// Forward vs the reference, then gradients of x, w and b vs finite differences.
void check_conv(const Shape& x_shape, const Shape& w_shape, const Conv2dParams& p, bool with_bias,
                const std::string& what) {
  SCOPED_TRACE(what);
  Tensor x = random_tensor(x_shape);
  Tensor w = random_tensor(w_shape);
  Tensor b = with_bias ? random_tensor({w_shape[0]}) : Tensor();
  const RefTensor rb = with_bias ? reference::from_tensor(b) : RefTensor();
  expect_close(conv2d(x, w, b, p),
               reference::conv2d(reference::from_tensor(x), reference::from_tensor(w), rb, p), 1e-4,
               what + " forward");
  check_gradients(
      [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], p); },
      [&](const std::vector<RefTensor>& in) { return reference::conv2d(in[0], in[1], in[2], p); },
      {x, w, b}, {true, true, with_bias});
}

Conv2dParams params(int64_t stride, int64_t pad, int64_t dilation = 1, int64_t groups = 1) {
  Conv2dParams p = Conv2dParams::same_padding(pad, stride);
  p.dilation = {dilation, dilation};
  p.groups = groups;
  return p;
}

TEST(Conv2d, OutputSize) {
  EXPECT_EQ(conv_output_size(28, 3, 1, 1, 1, 1), 28);
  EXPECT_EQ(conv_output_size(28, 3, 2, 1, 1, 1), 14);
  EXPECT_EQ(conv_output_size(7, 3, 3, 0, 0, 1), 2);
  EXPECT_EQ(conv_output_size(9, 3, 1, 0, 0, 2), 5);  // span 5
  EXPECT_EQ(conv_output_size(8, 3, 2, 0, 1, 1), 4);  // asymmetric "same"
  EXPECT_EQ(conv_output_size(2, 5, 1, 0, 0, 1), 0);  // kernel larger than input
}

TEST(Conv2d, Stride1SymmetricPaddingWithBias) {
  check_conv({2, 3, 7, 5}, {4, 3, 3, 3}, params(1, 1), true, "stride 1 pad 1");
}

TEST(Conv2d, Stride2) { check_conv({2, 3, 9, 7}, {5, 3, 3, 3}, params(2, 1), true, "stride 2"); }

TEST(Conv2d, Stride3NoPadding) {
  check_conv({1, 2, 11, 10}, {3, 2, 3, 2}, params(3, 0), true, "stride 3");
}

TEST(Conv2d, AsymmetricPaddingAndStride) {
  Conv2dParams p;
  p.stride = {2, 1};
  p.padding_begin = {0, 2};
  p.padding_end = {1, 0};
  check_conv({2, 3, 8, 7}, {4, 3, 3, 3}, p, true, "asymmetric padding");
}

TEST(Conv2d, Dilation2) {
  check_conv({1, 3, 9, 8}, {4, 3, 3, 3}, params(1, 2, 2), true, "dilation 2");
}

TEST(Conv2d, Groups2) {
  check_conv({2, 4, 7, 6}, {6, 2, 3, 3}, params(1, 1, 1, 2), true, "groups 2");
}

TEST(Conv2d, Depthwise) {
  check_conv({2, 5, 7, 7}, {5, 1, 3, 3}, params(2, 1, 1, 5), true, "depthwise");
}

TEST(Conv2d, NoBias) { check_conv({2, 3, 6, 5}, {4, 3, 3, 3}, params(1, 1), false, "no bias"); }

TEST(Conv2d, Batch1Pointwise) {
  check_conv({1, 5, 5, 3}, {7, 5, 1, 1}, params(1, 0), true, "1x1 batch 1");
}

TEST(Conv2d, BlockedChannelCounts) {
  // 16 and 17 channels: oneDNN picks blocked layouts (with a padded block).
  check_conv({1, 17, 5, 5}, {16, 17, 3, 3}, params(1, 1), true, "17 -> 16 channels");
}

TEST(Conv2d, FirstLayerNeedsNoInputGradient) {
  // x needs no grad (data): only dw and db are computed.
  Tensor x = random_tensor({2, 3, 7, 7});
  Tensor w = random_tensor({4, 3, 3, 3});
  Tensor b = random_tensor({4});
  const Conv2dParams p = params(2, 1);
  check_gradients(
      [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], p); },
      [&](const std::vector<RefTensor>& in) { return reference::conv2d(in[0], in[1], in[2], p); },
      {x, w, b}, {false, true, true});
}

TEST(Conv2d, FrozenWeightsGiveInputAndBiasGradients) {
  Tensor x = random_tensor({2, 3, 6, 7});
  Tensor w = random_tensor({4, 3, 3, 3});
  Tensor b = random_tensor({4});
  const Conv2dParams p = params(1, 1);
  check_gradients(
      [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], p); },
      [&](const std::vector<RefTensor>& in) { return reference::conv2d(in[0], in[1], in[2], p); },
      {x, w, b}, {true, false, true});
  // db alone (a channel sum), also with 16 channels each way (blocked
  // layouts) and a fused relu (dy masked first).
  Tensor x16 = random_tensor({2, 16, 5, 4});
  Tensor w16 = random_tensor({16, 16, 3, 3});
  Tensor b16 = random_tensor({16});
  for (bool relu : {false, true}) {
    Conv2dParams q = p;
    q.fuse_relu = relu;
    check_gradients(
        [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], q); },
        [&](const std::vector<RefTensor>& in) { return reference::conv2d(in[0], in[1], in[2], q); },
        {x16, w16, b16}, {false, false, true});
  }
  check_gradients(
      [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], p); },
      [&](const std::vector<RefTensor>& in) { return reference::conv2d(in[0], in[1], in[2], p); },
      {x, w, b}, {false, false, true});
}

TEST(Conv2d, InferenceMatchesTraining) {
  Tensor x = random_tensor({2, 16, 6, 6});
  Tensor w = random_tensor({16, 16, 3, 3});
  Tensor b = random_tensor({16});
  const Conv2dParams p = params(1, 1);
  Tensor w_train = w.detach();
  w_train.set_requires_grad(true);
  const RefTensor trained = reference::from_tensor(conv2d(x, w_train, b, p));
  NoGradGuard no_grad;
  Tensor y = conv2d(x, w_train, b, p);
  EXPECT_FALSE(y.grad_fn());
  expect_close(y, trained, 1e-6, "inference vs training");
}

// Inputs where no pre-relu output lies within 1e-2 of 0, so finite
// differences never cross the kink.
struct ReluCase {
  Tensor x, w, b;
};
ReluCase relu_case(const Shape& x_shape, const Shape& w_shape, const Conv2dParams& p) {
  Conv2dParams linear = p;
  linear.fuse_relu = false;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    ReluCase c{random_tensor(x_shape), random_tensor(w_shape), random_tensor({w_shape[0]})};
    const RefTensor y = reference::conv2d(reference::from_tensor(c.x), reference::from_tensor(c.w),
                                          reference::from_tensor(c.b), linear);
    bool clear = true;
    for (double v : y.v) clear = clear && std::fabs(v) > 1e-2;
    if (clear) return c;
  }
  ADD_FAILURE() << "no relu case away from the kink";
  return {};
}

TEST(Conv2d, FuseReluForwardMatchesReference) {
  Conv2dParams p = params(1, 1);
  p.fuse_relu = true;
  Tensor x = random_tensor({2, 3, 7, 6});
  Tensor w = random_tensor({16, 3, 3, 3});
  Tensor b = random_tensor({16});
  const RefTensor want = reference::conv2d(reference::from_tensor(x), reference::from_tensor(w),
                                           reference::from_tensor(b), p);
  expect_close(conv2d(x, w, b, p), want, 1e-4, "fused relu");
  Conv2dParams linear = p;
  linear.fuse_relu = false;
  expect_close(
      conv2d(x, w, b, p),
      reference::relu(reference::conv2d(reference::from_tensor(x), reference::from_tensor(w),
                                        reference::from_tensor(b), linear)),
      1e-4, "fused relu vs relu(conv)");
}

TEST(Conv2d, FuseReluBackwardMatchesFiniteDifferences) {
  Conv2dParams p = params(2, 1);
  p.fuse_relu = true;
  ReluCase c = relu_case({1, 2, 5, 5}, {3, 2, 3, 3}, p);
  check_gradients(
      [&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], in[2], p); },
      [&](const std::vector<RefTensor>& in) { return reference::conv2d(in[0], in[1], in[2], p); },
      {c.x, c.w, c.b}, {true, true, true});
}

TEST(Conv2d, FuseReluBackwardMatchesUnfused) {
  Conv2dParams fused = params(1, 1);
  fused.fuse_relu = true;
  const Conv2dParams plain = params(1, 1);
  Tensor x0 = random_tensor({2, 16, 7, 7});
  Tensor w0 = random_tensor({16, 16, 3, 3});
  Tensor b0 = random_tensor({16});
  Tensor r = random_tensor({2, 16, 7, 7});
  std::vector<std::vector<float>> grads[2];
  for (int k = 0; k < 2; ++k) {
    Tensor x = x0.detach(), w = w0.detach(), b = b0.detach();
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    b.set_requires_grad(true);
    Tensor y = k == 0 ? conv2d(x, w, b, fused) : relu(conv2d(x, w, b, plain));
    y.backward(r);
    grads[k] = {y.to_vector(), x.grad().to_vector(), w.grad().to_vector(), b.grad().to_vector()};
  }
  const char* names[] = {"y", "dx", "dw", "db"};
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_EQ(grads[0][i].size(), grads[1][i].size());
    double worst = 0.0;
    for (size_t j = 0; j < grads[0][i].size(); ++j) {
      worst = std::max(worst, static_cast<double>(std::fabs(grads[0][i][j] - grads[1][i][j])));
    }
    EXPECT_LE(worst, 1e-4) << names[i] << ": fused and unfused differ";
  }
}

TEST(Conv2d, KeepsBlockedLayoutAndAcceptsAnyLayout) {
  // A plain and a blocked copy of the same input give the same output.
  Tensor x = random_tensor({2, 16, 6, 5});
  Tensor w = random_tensor({16, 16, 3, 3});
  Tensor w2 = random_tensor({16, 16, 3, 3});
  const Conv2dParams p = params(1, 1);
  Tensor y = conv2d(x, w, Tensor(), p);
  EXPECT_FALSE(y.is_plain()) << "oneDNN kept NCHW for 16 channels";  // nChw16c on AVX-512
  const RefTensor want =
      reference::conv2d(reference::from_tensor(y), reference::from_tensor(w2), RefTensor(), p);
  expect_close(conv2d(y, w2, Tensor(), p), want, 1e-4, "blocked input");
  expect_close(conv2d(y.to_plain(), w2, Tensor(), p), want, 1e-4, "plain input");
}

TEST(Conv2d, ChainConvConvMaxPoolMatchesReference) {
  // conv -> conv (fused relu) -> max pool, all in oneDNN layouts, then to_plain.
  Conv2dParams p1 = params(1, 1);
  Conv2dParams p2 = params(2, 1);
  p2.fuse_relu = true;
  Pool2dParams pp;
  pp.kernel = {3, 3};
  pp.stride = {2, 2};
  pp.padding_begin = pp.padding_end = {1, 1};
  Tensor x = random_tensor({1, 3, 11, 9});
  Tensor w1 = random_tensor({16, 3, 3, 3});
  Tensor b1 = random_tensor({16});
  Tensor w2 = random_tensor({16, 16, 3, 3});
  auto ours = [&](const std::vector<Tensor>& in) {
    return max_pool2d(conv2d(conv2d(in[0], in[1], in[2], p1), in[3], Tensor(), p2), pp);
  };
  auto ref = [&](const std::vector<RefTensor>& in) {
    return reference::max_pool2d(
        reference::conv2d(reference::conv2d(in[0], in[1], in[2], p1), in[3], RefTensor(), p2), pp);
  };
  Tensor y = ours({x, w1, b1, w2});
  expect_close(y.to_plain(),
               ref({reference::from_tensor(x), reference::from_tensor(w1),
                    reference::from_tensor(b1), reference::from_tensor(w2)}),
               1e-4, "conv -> conv -> max pool");
  check_gradients(ours, ref, {x, w1, b1, w2}, {true, true, true, true}, 2e-3, 16);
}

TEST(Conv2d, CachedPlansRunOnOtherThreads) {
  // The plan (primitives) is made on this thread, then used from two others
  // at once, forward and backward; every thread must get the same answers.
  Tensor x = random_tensor({2, 16, 9, 9});
  Tensor w = random_tensor({16, 16, 3, 3});
  Tensor b = random_tensor({16});
  Tensor r = random_tensor({2, 16, 5, 5});
  Conv2dParams p = params(2, 1);
  p.fuse_relu = true;
  auto run = [&] {
    Tensor xl = x.detach(), wl = w.detach();
    xl.set_requires_grad(true);
    wl.set_requires_grad(true);
    Tensor y = conv2d(xl, wl, b, p);
    y.backward(r);
    return std::vector<std::vector<float>>{y.to_vector(), xl.grad().to_vector(),
                                           wl.grad().to_vector()};
  };
  const auto want = run();
  std::vector<std::vector<float>> got[2];
  std::thread t0([&] {
    for (int i = 0; i < 5; ++i) got[0] = run();
  });
  std::thread t1([&] {
    for (int i = 0; i < 5; ++i) got[1] = run();
  });
  t0.join();
  t1.join();
  for (const auto& g : got) {
    ASSERT_EQ(g.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(g[i].size(), want[i].size());
      double worst = 0.0;  // reduction order may differ between thread teams
      for (size_t j = 0; j < want[i].size(); ++j) {
        worst = std::max(worst, static_cast<double>(std::fabs(g[i][j] - want[i][j])));
      }
      EXPECT_LE(worst, 1e-4) << "output " << i << " differs on another thread";
    }
  }
}

TEST(Conv2dDeathTest, ChannelMismatchAborts) {
  Tensor x = random_tensor({1, 3, 5, 5});
  Tensor w = random_tensor({4, 2, 3, 3});
  EXPECT_DEATH(conv2d(x, w, Tensor(), Conv2dParams{}), "input channels");
}

// Timing mode: ./ops_tests --gtest_also_run_disabled_tests
//   --gtest_filter=*TimeForwardBackward (set OMP_NUM_THREADS). Prints, does
// not assert. "leaf": plain x and upstream gradient through Tensor::backward
// (includes the reorders to and from NCHW); "in network": x and dy already in
// oneDNN's layout, forward plus the node's backward, as between two layers.
TEST(Conv2d, DISABLED_TimeForwardBackward) {
  Tensor x = random_tensor({100, 16, 28, 28});
  Tensor w = random_tensor({16, 16, 3, 3}, -0.1f, 0.1f);
  Tensor b = random_tensor({16});
  Tensor r = random_tensor({100, 16, 28, 28});
  Conv2dParams p = params(1, 1);
  p.fuse_relu = true;
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor x_blocked, r_blocked;
  {
    NoGradGuard no_grad;
    x_blocked = conv2d(x, w, b, params(1, 1));
    r_blocked = conv2d(r, w, b, params(1, 1));
  }
  x.set_requires_grad(true);
  x_blocked.set_requires_grad(true);
  auto time = [](const char* what, const std::function<void()>& step) {
    for (int i = 0; i < 10; ++i) step();
    const int iters = 50;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) step();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::printf("conv2d (100,16,28,28) x (16,16,3,3) pad 1 relu, %s: fwd+bwd %.3f ms/iter\n", what,
                ms / iters);
  };
  time("leaf", [&] {
    Tensor y = conv2d(x, w, b, p);
    y.backward(r);
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    b.set_grad(Tensor());
  });
  time("in network", [&] {
    Tensor y = conv2d(x_blocked, w, b, p);
    std::vector<Tensor> grads = y.grad_fn()->backward(r_blocked);
    ASSERT_FALSE(grads[0].is_plain());
  });
}

}  // namespace
}  // namespace ringmaster::ops
