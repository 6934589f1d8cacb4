// One box's encoding and decoding (see box_coder.h), shared by the CPU and
// CUDA kernels so that both compute the same doubles: sizes and centres
// from x1, y1, x2, y2, std::min and std::clamp written out (a NaN passes
// through as it does there).
#pragma once

#include <cmath>

#include "ops/host_device.h"

namespace ringmaster::ops {

struct BoxWeights {
  double wx, wy, ww, wh, max_log_scale;
};

enum BoxCodeStatus : int { kBoxCoded = 0, kReferenceHasNoArea = 1, kBoxHasNoArea = 2 };

// d (4): the deltas that take reference box r to box g.
RM_HOST_DEVICE inline int encode_one(const float* g, const float* r, const BoxWeights& c,
                                     float* d) {
  const double gw = static_cast<double>(g[2]) - g[0], gh = static_cast<double>(g[3]) - g[1];
  const double rw = static_cast<double>(r[2]) - r[0], rh = static_cast<double>(r[3]) - r[1];
  if (!(rw > 0) || !(rh > 0)) return kReferenceHasNoArea;
  if (!(gw > 0) || !(gh > 0)) return kBoxHasNoArea;
  const double gcx = g[0] + 0.5 * gw, gcy = g[1] + 0.5 * gh;
  const double rcx = r[0] + 0.5 * rw, rcy = r[1] + 0.5 * rh;
  d[0] = static_cast<float>(c.wx * (gcx - rcx) / rw);
  d[1] = static_cast<float>(c.wy * (gcy - rcy) / rh);
  d[2] = static_cast<float>(c.ww * log(gw / rw));
  d[3] = static_cast<float>(c.wh * log(gh / rh));
  return kBoxCoded;
}

// out (4): the box deltas d give from reference box r, clipped to
// [0, clip_w] x [0, clip_h] where those are > 0.
RM_HOST_DEVICE inline void decode_one(const float* d, const float* r, const BoxWeights& c,
                                      double clip_w, double clip_h, float* out) {
  const double rw = static_cast<double>(r[2]) - r[0], rh = static_cast<double>(r[3]) - r[1];
  const double rcx = r[0] + 0.5 * rw, rcy = r[1] + 0.5 * rh;
  const double cx = d[0] / c.wx * rw + rcx, cy = d[1] / c.wy * rh + rcy;
  const double lw = d[2] / c.ww, lh = d[3] / c.wh;
  const double w = exp(c.max_log_scale < lw ? c.max_log_scale : lw) * rw;
  const double h = exp(c.max_log_scale < lh ? c.max_log_scale : lh) * rh;
  const double box[4] = {cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h};
  for (int j = 0; j < 4; ++j) {
    const double limit = j % 2 == 0 ? clip_w : clip_h;
    const double v = box[j];
    out[j] = static_cast<float>(limit > 0 ? (v < 0.0 ? 0.0 : limit < v ? limit : v) : v);
  }
}

}  // namespace ringmaster::ops
