// resize_bilinear: PyTorch's published 2x2 -> 4x4 values for both
// align_corners settings, forward against the reference for every coordinate
// mode (up, down, non-integer scales, size 1), backward against finite
// differences, and a blocked input.
#include "ops/reference/resize.h"

#include "op_test_util.h"
#include "ops/resize.h"

namespace ringmaster::ops {
namespace {

using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

void check_resize(const Shape& x_shape, const ResizeParams& p, const std::string& what) {
  SCOPED_TRACE(what);
  Tensor x = random_tensor(x_shape);
  expect_close(resize_bilinear(x, p), reference::resize_bilinear(reference::from_tensor(x), p),
               1e-5, what + " forward");
  check_gradients(
      [&](const std::vector<Tensor>& in) { return resize_bilinear(in[0], p); },
      [&](const std::vector<RefTensor>& in) { return reference::resize_bilinear(in[0], p); }, {x},
      {true});
}

ResizeParams mode(int64_t h, int64_t w, ResizeCoordinates c) {
  ResizeParams p = ResizeParams::to(h, w);
  p.coordinates = c;
  return p;
}

TEST(Resize, MatchesPyTorch2x2To4x4) {
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {1, 1, 2, 2});
  const std::vector<float> half = {1.0f, 1.25f, 1.75f, 2.0f, 1.5f, 1.75f, 2.25f, 2.5f,
                                   2.5f, 2.75f, 3.25f, 3.5f, 3.0f, 3.25f, 3.75f, 4.0f};
  const std::vector<float> got = resize_bilinear(x, ResizeParams::to(4, 4, false)).to_vector();
  ASSERT_EQ(got.size(), half.size());
  for (size_t i = 0; i < half.size(); ++i) EXPECT_FLOAT_EQ(got[i], half[i]) << i;
  const std::vector<float> corners = resize_bilinear(x, ResizeParams::to(4, 4, true)).to_vector();
  const float t = 1.0f / 3.0f;
  const std::vector<float> want = {1,     1 + t, 2 - t, 2,     1 + 2 * t, 2,     2 + t, 3 - t,
                                   2 + t, 3 - t, 3,     3 + t, 3,         3 + t, 4 - t, 4};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(corners[i], want[i], 1e-6) << i;
}

TEST(Resize, UpsampleEveryMode) {
  for (auto c : {ResizeCoordinates::half_pixel, ResizeCoordinates::pytorch_half_pixel,
                 ResizeCoordinates::align_corners, ResizeCoordinates::asymmetric}) {
    check_resize({2, 3, 4, 5}, mode(8, 11, c), "upsample mode " + std::to_string(int(c)));
  }
}

TEST(Resize, DownsampleEveryMode) {
  for (auto c : {ResizeCoordinates::half_pixel, ResizeCoordinates::pytorch_half_pixel,
                 ResizeCoordinates::align_corners, ResizeCoordinates::asymmetric}) {
    check_resize({1, 2, 9, 7}, mode(4, 3, c), "downsample mode " + std::to_string(int(c)));
  }
}

TEST(Resize, ExplicitScalesAndSizeOne) {
  ResizeParams p = ResizeParams::to(3, 2);  // from 5x4 with scale 0.6, as ONNX's floor(5*0.6)
  p.scale_h = 0.6;
  p.scale_w = 0.6;
  check_resize({1, 2, 5, 4}, p, "scales 0.6");
  p.coordinates = ResizeCoordinates::align_corners;
  check_resize({1, 2, 5, 4}, p, "scales 0.6 align_corners");
  check_resize({1, 1, 4, 4}, mode(1, 3, ResizeCoordinates::pytorch_half_pixel), "size 1 onnx");
  check_resize({1, 1, 4, 4}, mode(1, 1, ResizeCoordinates::half_pixel), "size 1 pytorch");
  check_resize({1, 1, 1, 1}, ResizeParams::to(3, 2, true), "from 1x1");
}

// align_corners with an explicit scale where in * scale <= 1: ONNX's formula
// divides by a negative length or by zero; the edge row is sampled instead
// of reading before row 0 (as it did before 2026-11-28).
TEST(Resize, AlignCornersScaleBelowOneRowSamplesTheEdge) {
  ResizeParams p = ResizeParams::to(2, 3, true);
  p.scale_h = 0.2;  // in * scale = 0.8
  check_resize({1, 1, 4, 3}, p, "in * scale < 1");
  p = ResizeParams::to(3, 2, true);
  p.scale_h = 1.0;  // in = 1: 0 / 0
  Tensor x = random_tensor({1, 2, 1, 2});
  const std::vector<float> y = resize_bilinear(x, p).to_vector();
  const std::vector<float> xs = x.to_vector();
  ASSERT_EQ(y.size(), 12u);
  for (size_t c = 0; c < 2; ++c) {
    for (size_t i = 0; i < 3; ++i) {
      for (size_t j = 0; j < 2; ++j)
        EXPECT_EQ(y[(c * 3 + i) * 2 + j], xs[c * 2 + j]) << c << i << j;
    }
  }
}

TEST(Resize, SameSizeIsIdentity) {
  Tensor x = random_tensor({2, 3, 5, 6});
  for (bool ac : {false, true}) {
    expect_close(resize_bilinear(x, ResizeParams::to(5, 6, ac)), reference::from_tensor(x), 1e-7,
                 "identity");
  }
}

TEST(Resize, BlockedInput) {
  Tensor x = random_tensor({1, 17, 3, 4});
  const ResizeParams p = ResizeParams::to(7, 5, true);
  Tensor y = resize_bilinear(testing::to_blocked(x), p);
  EXPECT_TRUE(y.is_plain());
  expect_close(y, reference::resize_bilinear(reference::from_tensor(x), p), 1e-5, "blocked");
}

}  // namespace
}  // namespace ringmaster::ops
