// Reference bilinear resize: the source coordinate written out per mode
// (independently of ops/resize.cpp), clamped to the edge, then the weighted
// sum of the four neighbours in double.
#include "ops/reference/resize.h"

#include <algorithm>
#include <cmath>

namespace ringmaster::ops::reference {
namespace {

double source(int64_t i, int64_t in, int64_t out, double scale, ResizeCoordinates mode) {
  const double s = scale > 0.0 ? scale : double(out) / double(in);
  double x = 0.0;
  if (mode == ResizeCoordinates::align_corners) {
    const double resized = scale > 0.0 ? double(in) * scale : double(out);
    x = out == 1 ? 0.0 : double(i) * double(in - 1) / (resized - 1.0);
  } else if (mode == ResizeCoordinates::asymmetric) {
    x = double(i) / s;
  } else if (mode == ResizeCoordinates::pytorch_half_pixel && out == 1) {
    x = 0.0;
  } else {
    x = (double(i) + 0.5) / s - 0.5;
  }
  return std::clamp(x, 0.0, double(in - 1));
}

}  // namespace

RefTensor resize_bilinear(const RefTensor& x, const ResizeParams& p) {
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  RefTensor y({n, c, p.out_h, p.out_w});
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t k = 0; k < c; ++k) {
      for (int64_t i = 0; i < p.out_h; ++i) {
        const double sy = source(i, h, p.out_h, p.scale_h, p.coordinates);
        const int64_t y0 = int64_t(std::floor(sy)), y1 = std::min(y0 + 1, h - 1);
        const double fy = sy - double(y0);
        for (int64_t j = 0; j < p.out_w; ++j) {
          const double sx = source(j, w, p.out_w, p.scale_w, p.coordinates);
          const int64_t x0 = int64_t(std::floor(sx)), x1 = std::min(x0 + 1, w - 1);
          const double fx = sx - double(x0);
          y.at(b, k, i, j) = (1 - fy) * ((1 - fx) * x.at(b, k, y0, x0) + fx * x.at(b, k, y0, x1)) +
                             fy * ((1 - fx) * x.at(b, k, y1, x0) + fx * x.at(b, k, y1, x1));
        }
      }
    }
  }
  return y;
}

}  // namespace ringmaster::ops::reference
