// The cells of one roi_pool bin (see roi_pool.h), shared by the CPU and CUDA
// kernels: the box's corners scaled and rounded, the box at least one cell
// a side, bin (py, px) from floor(py * bin_h) to ceil((py + 1) * bin_h)
// cells past the box's corner, clamped to the h x w map.
#pragma once

#include <cmath>
#include <cstdint>

#include "ops/host_device.h"

namespace ringmaster::ops {

struct RoiPoolWindow {
  int64_t y0, y1, x0, x1;  // [y0, y1) x [x0, x1); empty when y1 <= y0 or x1 <= x0
  RM_HOST_DEVICE bool empty() const { return y1 <= y0 || x1 <= x0; }
};

RM_HOST_DEVICE inline int64_t clamp_cells(int64_t v, int64_t hi) {
  return v < 0 ? 0 : v > hi ? hi : v;
}

RM_HOST_DEVICE inline RoiPoolWindow roi_pool_window(const float* box, float scale, int64_t oh,
                                                    int64_t ow, int64_t py, int64_t px, int64_t h,
                                                    int64_t w) {
  const auto x_start = static_cast<int64_t>(roundf(box[0] * scale));
  const auto y_start = static_cast<int64_t>(roundf(box[1] * scale));
  const auto x_end = static_cast<int64_t>(roundf(box[2] * scale));
  const auto y_end = static_cast<int64_t>(roundf(box[3] * scale));
  const int64_t bw = x_end - x_start + 1 > 1 ? x_end - x_start + 1 : 1;
  const int64_t bh = y_end - y_start + 1 > 1 ? y_end - y_start + 1 : 1;
  const float bin_h = static_cast<float>(bh) / static_cast<float>(oh);
  const float bin_w = static_cast<float>(bw) / static_cast<float>(ow);
  RoiPoolWindow r;
  r.y0 = clamp_cells(static_cast<int64_t>(floorf(static_cast<float>(py) * bin_h)) + y_start, h);
  r.y1 = clamp_cells(static_cast<int64_t>(ceilf(static_cast<float>(py + 1) * bin_h)) + y_start, h);
  r.x0 = clamp_cells(static_cast<int64_t>(floorf(static_cast<float>(px) * bin_w)) + x_start, w);
  r.x1 = clamp_cells(static_cast<int64_t>(ceilf(static_cast<float>(px + 1) * bin_w)) + x_start, w);
  return r;
}

}  // namespace ringmaster::ops
