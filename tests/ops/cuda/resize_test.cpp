// resize_bilinear on CUDA against the CPU, forward and dx: every coordinate
// mode up and down (non-integer ratios, so taps straddle rows and clamp at
// the edge), explicit scales, 1x1 inputs and outputs, FCN's 8x upsampling
// (many dy elements scatter to one input: the atomicAdd path). Odd shapes,
// fresh random inputs each run.
#include "ops/resize.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_tensor;

class CudaResize : public testing::CudaTest {};

constexpr ResizeCoordinates kModes[] = {
    ResizeCoordinates::half_pixel, ResizeCoordinates::pytorch_half_pixel,
    ResizeCoordinates::align_corners, ResizeCoordinates::asymmetric};

ResizeParams mode(int64_t h, int64_t w, ResizeCoordinates c) {
  ResizeParams p = ResizeParams::to(h, w);
  p.coordinates = c;
  return p;
}

void check(const Shape& xs, const ResizeParams& p, const std::string& what) {
  compare_with_cpu([&](const std::vector<Tensor>& in) { return resize_bilinear(in[0], p); },
                   {random_tensor(xs)}, {true}, kTolF32, kTolF32, what);
}

TEST_F(CudaResize, UpsampleEveryMode) {
  for (ResizeCoordinates c : kModes) {
    const std::string m = std::to_string(static_cast<int>(c));
    check({2, 3, 5, 4}, mode(11, 9, c), "5x4 -> 11x9, mode " + m);
    check({1, 2, 3, 7}, mode(8, 7, c), "3x7 -> 8x7 (width unchanged), mode " + m);
  }
}

TEST_F(CudaResize, DownsampleEveryMode) {
  for (ResizeCoordinates c : kModes) {
    const std::string m = std::to_string(static_cast<int>(c));
    check({2, 3, 13, 10}, mode(5, 3, c), "13x10 -> 5x3, mode " + m);
    check({1, 1, 9, 6}, mode(1, 1, c), "9x6 -> 1x1, mode " + m);
  }
}

TEST_F(CudaResize, ExplicitScalesAndSizeOne) {
  ResizeParams p = ResizeParams::to(3, 2);  // from 5x4 with scale 0.6, as ONNX's floor(5*0.6)
  p.scale_h = 0.6;
  p.scale_w = 0.6;
  check({2, 2, 5, 4}, p, "scale 0.6, half_pixel");
  p.coordinates = ResizeCoordinates::align_corners;
  check({2, 2, 5, 4}, p, "scale 0.6, align_corners");
  check({1, 3, 1, 1}, ResizeParams::to(3, 2, true), "from 1x1");
  check({3, 1, 1, 5}, ResizeParams::to(4, 7), "from one row");
}

TEST_F(CudaResize, FcnUpsamplingScattersManyToOne) {
  check({2, 5, 6, 7}, ResizeParams::to(48, 56), "8x up, half_pixel");
  check({1, 3, 4, 5}, ResizeParams::to(29, 37, true), "uneven up, align_corners");
}

TEST_F(CudaResize, InferenceWithoutGrad) {
  Tensor x = random_tensor({2, 3, 6, 5});
  const ResizeParams p = ResizeParams::to(9, 13);
  Tensor y = resize_bilinear(x.to(Device::cuda()), p);
  testing::expect_close(y, resize_bilinear(x, p), kTolF32, "inference");
  EXPECT_FALSE(y.grad_fn());
}

}  // namespace
}  // namespace ringmaster::ops
