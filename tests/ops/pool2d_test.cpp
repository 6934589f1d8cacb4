// max_pool2d, avg_pool2d, global_avg_pool2d: forward against the reference
// and dx against finite differences, one test per path (padding, stride,
// dilation, ceil_mode, count_include_pad, blocked layouts). Ties in max pool
// are not probed (random inputs have none).
#include "ops/reference/pool2d.h"

#include "op_test_util.h"
#include "ops/autograd.h"
#include "ops/conv2d.h"
#include "ops/pool2d.h"

namespace ringmaster::ops {
namespace {

using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

enum class Kind { max, avg };

Tensor pool(Kind k, const Tensor& x, const Pool2dParams& p) {
  return k == Kind::max ? max_pool2d(x, p) : avg_pool2d(x, p);
}
RefTensor ref_pool(Kind k, const RefTensor& x, const Pool2dParams& p) {
  return k == Kind::max ? reference::max_pool2d(x, p) : reference::avg_pool2d(x, p);
}

// The same values as x in oneDNN's blocked layout (through a 1x1 identity conv).
Tensor blocked_copy(const Tensor& x) {
  const int64_t c = x.dim(1);
  std::vector<float> eye(static_cast<size_t>(c * c), 0.0f);
  for (int64_t i = 0; i < c; ++i) eye[static_cast<size_t>(i * c + i)] = 1.0f;
  NoGradGuard no_grad;
  return conv2d(x, Tensor::from_vector(eye, {c, c, 1, 1}), Tensor(), Conv2dParams{});
}

// Forward vs the reference, dx vs finite differences.
void check_pool(Kind k, const Tensor& x, const Pool2dParams& p, const std::string& what) {
  SCOPED_TRACE(what);
  expect_close(pool(k, x, p), ref_pool(k, reference::from_tensor(x), p), 1e-5, what + " forward");
  check_gradients([&](const std::vector<Tensor>& in) { return pool(k, in[0], p); },
                  [&](const std::vector<RefTensor>& in) { return ref_pool(k, in[0], p); }, {x},
                  {true});
}

Pool2dParams params(int64_t kernel, int64_t stride, int64_t pad = 0) {
  Pool2dParams p;
  p.kernel = {kernel, kernel};
  p.stride = {stride, stride};
  p.padding_begin = p.padding_end = {pad, pad};
  return p;
}

TEST(Pool2d, OutputSize) {
  EXPECT_EQ(pool_output_size(28, 2, 2, 0, 0, 1, false), 14);
  EXPECT_EQ(pool_output_size(5, 2, 2, 0, 0, 1, false), 2);
  EXPECT_EQ(pool_output_size(5, 2, 2, 0, 0, 1, true), 3);
  EXPECT_EQ(pool_output_size(112, 3, 2, 1, 1, 1, false), 56);
  EXPECT_EQ(pool_output_size(9, 3, 1, 0, 0, 2, false), 5);  // dilation: span 5
  // ceil_mode drops a last window that would start in the end padding.
  EXPECT_EQ(pool_output_size(4, 1, 2, 0, 0, 1, true), 2);
  EXPECT_EQ(pool_output_size(5, 2, 3, 1, 1, 1, true), 2);
  EXPECT_EQ(pool_output_size(1, 3, 1, 0, 0, 1, false), 0);  // window larger than input
  // A window that overhangs the end by less than a stride: one output in
  // ceil mode, as PyTorch 1.13 gives (its F.max_pool2d on a 1x1 or 2x2
  // input); none where PyTorch says "Output size is too small".
  EXPECT_EQ(pool_output_size(1, 2, 2, 0, 0, 1, true), 1);
  EXPECT_EQ(pool_output_size(1, 2, 2, 0, 0, 1, false), 0);
  EXPECT_EQ(pool_output_size(2, 3, 2, 0, 0, 1, true), 1);
  EXPECT_EQ(pool_output_size(1, 3, 3, 0, 0, 1, true), 1);
  EXPECT_EQ(pool_output_size(1, 3, 2, 0, 0, 1, true), 0);
  EXPECT_EQ(pool_output_size(1, 2, 1, 0, 0, 1, true), 0);
  EXPECT_EQ(pool_output_size(1, 4, 3, 0, 0, 1, true), 0);
}

// The values PyTorch 1.13 gives for windows that overhang a small input in
// ceil mode (max, and average divided by the window clipped to the padded
// input), then forward against the reference and dx by finite differences.
TEST(Pool2d, CeilModeWindowLargerThanTheInput) {
  const Tensor x = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
  Pool2dParams p = params(3, 2);
  p.ceil_mode = true;
  EXPECT_EQ(max_pool2d(x, p).to_vector(), std::vector<float>{4.0f});
  p.count_include_pad = true;
  EXPECT_EQ(avg_pool2d(x, p).to_vector(), std::vector<float>{2.5f});
  Pool2dParams padded = params(3, 3, 1);
  padded.ceil_mode = padded.count_include_pad = true;
  EXPECT_NEAR(avg_pool2d(x, padded).item(), 10.0f / 9.0f, 1e-6f);
  Pool2dParams two = params(2, 2);
  two.ceil_mode = true;
  EXPECT_EQ(max_pool2d(Tensor::from_vector({7}, {1, 1, 1, 1}), two).to_vector(),
            std::vector<float>{7.0f});
  for (const Kind k : {Kind::max, Kind::avg}) {
    check_pool(k, random_tensor({2, 3, 1, 1}), two, "1x1, 2x2/2");
    check_pool(k, random_tensor({2, 3, 2, 3}), p, "2x3, 3x3/2");
    check_pool(k, random_tensor({1, 2, 2, 2}), padded, "2x2, 3x3/3 pad 1");
  }
}

TEST(Pool2d, MaxBasic) {
  check_pool(Kind::max, random_tensor({2, 3, 6, 8}), params(2, 2), "2x2/2");
}

TEST(Pool2d, MaxOverlappingPadded) {
  check_pool(Kind::max, random_tensor({2, 3, 9, 7}), params(3, 2, 1), "3x3/2 pad 1");
}

TEST(Pool2d, MaxAsymmetricPaddingAndStride) {
  Pool2dParams p;
  p.kernel = {3, 2};
  p.stride = {1, 3};
  p.padding_begin = {0, 1};
  p.padding_end = {2, 0};
  check_pool(Kind::max, random_tensor({1, 2, 7, 8}), p, "asymmetric");
}

TEST(Pool2d, MaxDilation2) {
  Pool2dParams p = params(3, 1, 1);
  p.dilation = {2, 2};
  check_pool(Kind::max, random_tensor({1, 3, 9, 8}), p, "dilation 2");
}

TEST(Pool2d, MaxCeilMode) {
  Pool2dParams p = params(3, 2);
  p.ceil_mode = true;
  check_pool(Kind::max, random_tensor({2, 3, 8, 7}), p, "ceil");
  p = params(2, 3, 1);  // the last window would start in the padding: dropped
  p.ceil_mode = true;
  check_pool(Kind::max, random_tensor({1, 2, 5, 5}), p, "ceil drop");
}

TEST(Pool2d, MaxInferenceMatchesTraining) {
  Tensor x = random_tensor({2, 16, 7, 7});
  const Pool2dParams p = params(3, 2, 1);
  const RefTensor want = reference::max_pool2d(reference::from_tensor(x), p);
  Tensor leaf = x.detach();
  leaf.set_requires_grad(true);
  expect_close(max_pool2d(leaf, p), want, 0.0, "training");
  NoGradGuard no_grad;
  expect_close(max_pool2d(leaf, p), want, 0.0, "inference");
}

TEST(Pool2d, AvgExcludePadding) {
  check_pool(Kind::avg, random_tensor({2, 3, 7, 6}), params(3, 2, 1), "exclude pad");
}

TEST(Pool2d, AvgIncludePadding) {
  Pool2dParams p = params(3, 2, 1);
  p.count_include_pad = true;
  check_pool(Kind::avg, random_tensor({2, 3, 7, 6}), p, "include pad");
}

TEST(Pool2d, AvgAsymmetricPadding) {
  Pool2dParams p;
  p.kernel = {2, 3};
  p.stride = {2, 1};
  p.padding_begin = {1, 0};
  p.padding_end = {0, 2};
  check_pool(Kind::avg, random_tensor({1, 2, 6, 5}), p, "asymmetric exclude");
  p.count_include_pad = true;
  check_pool(Kind::avg, random_tensor({1, 2, 6, 5}), p, "asymmetric include");
}

TEST(Pool2d, AvgCeilModeExcludePadding) {
  Pool2dParams p = params(3, 2, 1);
  p.ceil_mode = true;
  check_pool(Kind::avg, random_tensor({1, 3, 8, 6}), p, "ceil exclude");
}

TEST(Pool2d, AvgCeilModeIncludePadding) {
  // The extra ceil padding does not count, the requested padding does.
  Pool2dParams p = params(3, 2, 1);
  p.ceil_mode = true;
  p.count_include_pad = true;
  check_pool(Kind::avg, random_tensor({1, 3, 8, 6}), p, "ceil include pad 1");
  p = params(2, 2);
  p.ceil_mode = true;
  p.count_include_pad = true;
  check_pool(Kind::avg, random_tensor({2, 16, 5, 7}), p, "ceil include pad 0");
  check_pool(Kind::avg, blocked_copy(random_tensor({2, 16, 5, 7})), p, "ceil include blocked");
}

TEST(Pool2d, GlobalAvg) {
  Tensor x = random_tensor({2, 5, 7, 3});
  expect_close(global_avg_pool2d(x), reference::global_avg_pool2d(reference::from_tensor(x)), 1e-5,
               "global avg");
  check_gradients(
      [](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); },
      [](const std::vector<RefTensor>& in) { return reference::global_avg_pool2d(in[0]); }, {x},
      {true});
}

TEST(Pool2d, BlockedInputKeepsBlockedLayout) {
  Tensor x = blocked_copy(random_tensor({2, 17, 7, 6}));
  ASSERT_FALSE(x.is_plain());
  const Pool2dParams p = params(3, 2, 1);
  EXPECT_FALSE(max_pool2d(x, p).is_plain());
  EXPECT_FALSE(avg_pool2d(x, p).is_plain());
  // (N, C, 1, 1) may come back plain: e.g. nhwc of 1x1 is NCHW byte for byte.
  expect_close(global_avg_pool2d(x), reference::global_avg_pool2d(reference::from_tensor(x)), 1e-5,
               "blocked global avg");
  check_pool(Kind::max, x, p, "blocked max");
  check_pool(Kind::avg, x, p, "blocked avg");
  // The same values in plain NCHW give the same answer.
  expect_close(max_pool2d(x.to_plain(), p), reference::max_pool2d(reference::from_tensor(x), p),
               1e-6, "plain max");
}

TEST(Pool2dDeathTest, AvgWithDilationAborts) {
  Pool2dParams p = params(2, 2);
  p.dilation = {2, 2};
  Tensor x = random_tensor({1, 1, 6, 6});
  EXPECT_DEATH(avg_pool2d(x, p), "no dilation");
}

TEST(Pool2dDeathTest, PaddingAsLargeAsKernelAborts) {
  Tensor x = random_tensor({1, 1, 6, 6});
  EXPECT_DEATH(max_pool2d(x, params(2, 2, 2)), "smaller than the kernel");
}

}  // namespace
}  // namespace ringmaster::ops
