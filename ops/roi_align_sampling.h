// RoIAlign's geometry, shared by the CPU and CUDA kernels so that both take
// the same samples with the same float operations (torchvision's): where a
// box's bins start on the feature map, their size, the samples per bin side,
// and the four bilinear taps of one sample. Internal to roi_align's kernels.
#pragma once

#include <cmath>
#include <cstdint>

#include "ops/host_device.h"
#include "ops/roi_align.h"

namespace ringmaster::ops {

struct RoiBins {
  float start_y, start_x, bin_h, bin_w;
  int64_t grid_h, grid_w;  // samples per bin side, >= 0
  float count;             // samples per bin, >= 1 (the mean's divisor)
};

// box: x1, y1, x2, y2 in input-image coordinates.
RM_HOST_DEVICE inline RoiBins roi_bins(const float* box, float scale, int64_t out_h, int64_t out_w,
                                       int64_t sampling_ratio, bool aligned) {
  const float offset = aligned ? 0.5f : 0.0f;
  const float x1 = box[0] * scale - offset, y1 = box[1] * scale - offset;
  float w = box[2] * scale - offset - x1, h = box[3] * scale - offset - y1;
  if (!aligned) {
    w = w > 1.0f ? w : 1.0f;
    h = h > 1.0f ? h : 1.0f;
  }
  RoiBins b;
  b.start_y = y1;
  b.start_x = x1;
  b.bin_h = h / static_cast<float>(out_h);
  b.bin_w = w / static_cast<float>(out_w);
  const float gh = sampling_ratio > 0 ? static_cast<float>(sampling_ratio) : ceilf(b.bin_h);
  const float gw = sampling_ratio > 0 ? static_cast<float>(sampling_ratio) : ceilf(b.bin_w);
  const float cap = 1.0e9f;  // far past kRoiAlignMaxSamples; keeps the casts defined
  b.grid_h = gh > 0.0f ? static_cast<int64_t>(gh < cap ? gh : cap) : 0;
  b.grid_w = gw > 0.0f ? static_cast<int64_t>(gw < cap ? gw : cap) : 0;
  const int64_t n = b.grid_h * b.grid_w;
  b.count = static_cast<float>(n > 1 ? n : 1);
  return b;
}

// The four taps of a sample at (y, x) on an h x w plane: offsets into the
// plane and bilinear weights. False (no taps) when the sample is more than
// one pixel outside the plane.
RM_HOST_DEVICE inline bool bilinear_taps(float y, float x, int64_t h, int64_t w, int64_t* at,
                                         float* wt) {
  if (y < -1.0f || y > static_cast<float>(h) || x < -1.0f || x > static_cast<float>(w))
    return false;
  if (y <= 0.0f) y = 0.0f;
  if (x <= 0.0f) x = 0.0f;
  int64_t y0 = static_cast<int64_t>(y), x0 = static_cast<int64_t>(x), y1, x1;
  if (y0 >= h - 1) {
    y1 = y0 = h - 1;
    y = static_cast<float>(y0);
  } else {
    y1 = y0 + 1;
  }
  if (x0 >= w - 1) {
    x1 = x0 = w - 1;
    x = static_cast<float>(x0);
  } else {
    x1 = x0 + 1;
  }
  const float ly = y - static_cast<float>(y0), lx = x - static_cast<float>(x0);
  const float hy = 1.0f - ly, hx = 1.0f - lx;
  at[0] = y0 * w + x0;
  at[1] = y0 * w + x1;
  at[2] = y1 * w + x0;
  at[3] = y1 * w + x1;
  wt[0] = hy * hx;
  wt[1] = hy * lx;
  wt[2] = ly * hx;
  wt[3] = ly * lx;
  return true;
}

// Sample (iy, ix) of bin (py, px).
RM_HOST_DEVICE inline float sample_y(const RoiBins& b, int64_t py, int64_t iy) {
  return b.start_y + static_cast<float>(py) * b.bin_h +
         (static_cast<float>(iy) + 0.5f) * b.bin_h / static_cast<float>(b.grid_h);
}
RM_HOST_DEVICE inline float sample_x(const RoiBins& b, int64_t px, int64_t ix) {
  return b.start_x + static_cast<float>(px) * b.bin_w +
         (static_cast<float>(ix) + 0.5f) * b.bin_w / static_cast<float>(b.grid_w);
}

// f(offset, weight) for every tap of every sample of bin (py, px), in a
// fixed order (the CPU and CUDA kernels add in the same order).
template <class F>
RM_HOST_DEVICE inline void for_each_tap(const RoiBins& b, int64_t py, int64_t px, int64_t h,
                                        int64_t w, F&& f) {
  for (int64_t iy = 0; iy < b.grid_h; ++iy)
    for (int64_t ix = 0; ix < b.grid_w; ++ix) {
      int64_t at[4];
      float wt[4];
      if (!bilinear_taps(sample_y(b, py, iy), sample_x(b, px, ix), h, w, at, wt)) continue;
      for (int t = 0; t < 4; ++t) f(at[t], wt[t]);
    }
}

}  // namespace ringmaster::ops
