// Bilinear resize of (N, C, H, W) to (N, C, OH, OW), as PyTorch's
// F.interpolate(mode="bilinear") and ONNX's Resize(mode="linear") define it.
// Output pixel i samples input coordinate
//   half_pixel:         (i + 0.5) / scale - 0.5, clamped to >= 0   (PyTorch align_corners=False)
//   pytorch_half_pixel: the same, but 0 when the output size is 1   (ONNX)
//   align_corners:      i * (H - 1) / (L - 1), 0 when OH == 1       (PyTorch align_corners=True)
//   asymmetric:         i / scale
// where scale is ResizeParams::scale_h (or OH/H when 0) and L = H * scale
// (= OH unless an explicit scale does not divide evenly, as in ONNX; PyTorch's
// align_corners ignores scale_factor, so leave scale 0 there); samples past the
// last row use the last row (edge). No antialiasing when downsampling, no
// other modes (nearest, cubic). f32, or f16 on a GPU (computed in f32). Any
// layout in; output and dx are plain, in x's dtype.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops {

enum class ResizeCoordinates : uint8_t {
  half_pixel,
  pytorch_half_pixel,
  align_corners,
  asymmetric
};

struct ResizeParams {
  int64_t out_h = 0, out_w = 0;
  ResizeCoordinates coordinates = ResizeCoordinates::half_pixel;
  // The scale (out / in) the coordinate mapping uses; 0: out_h / H. PyTorch's
  // scale_factor and ONNX's scales give it when they do not divide evenly.
  double scale_h = 0.0, scale_w = 0.0;

  static ResizeParams to(int64_t h, int64_t w, bool align_corners = false) {
    ResizeParams p;
    p.out_h = h;
    p.out_w = w;
    p.coordinates =
        align_corners ? ResizeCoordinates::align_corners : ResizeCoordinates::half_pixel;
    return p;
  }
};

Tensor resize_bilinear(const Tensor& x, const ResizeParams& p);

// The input coordinate (before clamping to [0, in - 1]) that output index i
// samples along one axis: the formula above. Shared by kernels of every backend.
double resize_source_coordinate(int64_t i, int64_t in, int64_t out, double scale,
                                ResizeCoordinates mode);

// The two input indices output index i blends along one axis, and the weight
// of the second: lo = min(floor(src), in - 1), hi = min(lo + 1, in - 1),
// w_hi = src - lo clamped to [0, 1] (lo gets 1 - w_hi). One per output index,
// from resize_source_coordinate; every backend's kernels use these tables, so
// they sample the same points.
struct ResizeTap {
  int64_t lo, hi;
  float w_hi;
};
std::vector<ResizeTap> resize_taps(int64_t in, int64_t out, double scale, ResizeCoordinates mode);

// Backend kernels; x, y, dy, dx plain. backward overwrites dx.
struct ResizeKernels {
  void (*forward)(const Tensor& x, const ResizeParams& p, const Tensor& y);
  void (*backward)(const Tensor& dy, const ResizeParams& p, const Tensor& dx);
};

}  // namespace ringmaster::ops
