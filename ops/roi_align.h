// roi_align: Mask R-CNN's RoIAlign (He et al. 2017), as torchvision's
// roi_align and ONNX's RoiAlign (mode "avg"). Each box, in input-image
// coordinates, is scaled by spatial_scale onto its image's feature map
// x (N, C, H, W) and cut into output_h x output_w bins; a bin's value is the
// mean of sampling_ratio x sampling_ratio bilinear samples at evenly spaced
// points inside it (sampling_ratio <= 0: ceil(box size / bins) per side,
// adaptive). aligned true shifts the box by -0.5 pixel so that a pixel's
// centre is at its integer coordinate (torchvision aligned=True, ONNX
// "half_pixel"); aligned false does not, and makes every box at least one
// pixel wide and high (aligned=False, "output_half_pixel"). A sample more
// than one pixel outside the map is 0; one within it is clamped to the edge.
//   boxes (K, 4) f32 x1, y1, x2, y2 on x's device; batch (K) i64 or i32, each
//   in [0, N) (the image a box is on; checked, an Error names the box).
//   y (K, C, output_h, output_w).
// Refused with an Error: a box with a coordinate that is not finite, or one
// so large that its bins need more than kRoiAlignMaxSamples samples a side.
// Backward: into x only (each sample's gradient spread over its four
// neighbours with the bilinear weights); boxes and batch get none. On the
// CPU the spread runs per channel in box order (deterministic); on a GPU
// with atomic adds.
#pragma once

#include <cstdint>

#include "ops/tensor.h"

namespace ringmaster::ops {

// Samples per bin side at most (sampling_ratio, or a box's adaptive grid).
constexpr int64_t kRoiAlignMaxSamples = 1024;

struct RoiAlignParams {
  int64_t output_h = 7, output_w = 7;
  double spatial_scale = 1.0;
  int64_t sampling_ratio = 0;  // <= 0: adaptive
  bool aligned = true;
};

Tensor roi_align(const Tensor& x, const Tensor& boxes, const Tensor& batch,
                 const RoiAlignParams& p);

// Backend kernels; tensors plain, batch i64 on x's device and checked.
struct RoiAlignKernels {
  void (*forward)(const Tensor& x, const Tensor& boxes, const Tensor& batch,
                  const RoiAlignParams& p, const Tensor& y);
  // dx (N, C, H, W), overwritten.
  void (*backward)(const Tensor& dy, const Tensor& boxes, const Tensor& batch,
                   const RoiAlignParams& p, const Tensor& dx);
};

}  // namespace ringmaster::ops
