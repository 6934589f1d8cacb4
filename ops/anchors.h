// Anchor boxes for a region proposal network, as torchvision's
// AnchorGenerator lays them out: for each size s and aspect ratio r
// (height / width), a box of area about s^2, width s / sqrt(r) and height
// s sqrt(r), centred on 0 and its corners rounded to whole pixels (ratio
// major, size minor); then one copy per feature-map cell, shifted by the
// cell's position times the stride (cells row-major, the anchors of a cell
// together). Returns (grid_h * grid_w * sizes * ratios, 4) f32 x1, y1, x2,
// y2 on `device` (the base anchors made on the host, the grid's copies by
// the device's kernel). Sizes, ratios and strides must be positive.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/host_device.h"
#include "ops/tensor.h"

namespace ringmaster::ops {

struct AnchorGrid {
  std::vector<double> sizes = {32.0};
  std::vector<double> ratios = {0.5, 1.0, 2.0};
  int64_t grid_h = 1, grid_w = 1;
  double stride_h = 16.0, stride_w = 16.0;
};

Tensor make_anchors(const AnchorGrid& g, Device device = Device::cpu());

struct AnchorKernels {
  // out (grid_h * grid_w * A, 4): base (A, 4) shifted to every cell, both on
  // one device.
  void (*shift)(const Tensor& base, const AnchorGrid& g, const Tensor& out);
};

// The shift of cell (x, y): its position times the stride, in f32.
RM_HOST_DEVICE inline float cell_offset(int64_t cell, double stride) {
  return static_cast<float>(static_cast<double>(cell) * stride);
}

}  // namespace ringmaster::ops
