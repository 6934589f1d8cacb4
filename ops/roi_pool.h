// roi_pool: Fast R-CNN's RoI max pooling, as torchvision's roi_pool (ONNX's
// MaxRoiPool). Each box, in input-image coordinates, is scaled by
// spatial_scale onto its image's feature map x (N, C, H, W) and its corners
// rounded to whole cells (half away from zero); the box, at least one cell
// a side, is cut into output_h x output_w bins of floor..ceil cells, clamped
// to the map, and a bin's value is the largest in it (0 for a bin that lies
// outside the map).
//   boxes (K, 4) f32 x1, y1, x2, y2 on x's device; batch (K) i64 or i32,
//   each in [0, N); y (K, C, output_h, output_w).
// Refused with an Error: an image index outside the batch, a coordinate
// that is not finite or lies more than 2^24 cells off (scaled).
// Backward: into x only, each bin's gradient to the cell that held its
// maximum (the first such cell in row-major order on ties). On the CPU in
// parallel over channels, box by box in order (deterministic); on a GPU
// with atomic adds.
#pragma once

#include <cstdint>

#include "ops/tensor.h"

namespace ringmaster::ops {

struct RoiPoolParams {
  int64_t output_h = 7, output_w = 7;
  double spatial_scale = 1.0;
};

Tensor roi_pool(const Tensor& x, const Tensor& boxes, const Tensor& batch, const RoiPoolParams& p);

// Backend kernels; tensors plain, batch i64 on x's device and checked.
struct RoiPoolKernels {
  // y (K, C, OH, OW) and argmax (K, C, OH, OW) i64: the offset of each bin's
  // maximum in its (image, channel) plane, -1 for an empty bin.
  void (*forward)(const Tensor& x, const Tensor& boxes, const Tensor& batch, const RoiPoolParams& p,
                  const Tensor& y, const Tensor& argmax);
  // dx (N, C, H, W), overwritten.
  void (*backward)(const Tensor& dy, const Tensor& argmax, const Tensor& batch, const Tensor& dx);
};

}  // namespace ringmaster::ops
