#include "ops/reference/roi_align.h"

#include <algorithm>
#include <cmath>

namespace ringmaster::ops::reference {
namespace {

// Bilinear value of plane (n, c) at (y, x): 0 beyond one pixel outside,
// clamped to the edge within it.
double bilinear(const RefTensor& x, int64_t n, int64_t c, double y, double xx) {
  const int64_t h = x.shape[2], w = x.shape[3];
  if (y < -1.0 || y > static_cast<double>(h) || xx < -1.0 || xx > static_cast<double>(w))
    return 0.0;
  y = std::clamp(y, 0.0, static_cast<double>(h - 1));
  xx = std::clamp(xx, 0.0, static_cast<double>(w - 1));
  const auto y0 = static_cast<int64_t>(std::floor(y)), x0 = static_cast<int64_t>(std::floor(xx));
  const int64_t y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
  const double ly = y - static_cast<double>(y0), lx = xx - static_cast<double>(x0);
  return (1 - ly) * (1 - lx) * x.at(n, c, y0, x0) + (1 - ly) * lx * x.at(n, c, y0, x1) +
         ly * (1 - lx) * x.at(n, c, y1, x0) + ly * lx * x.at(n, c, y1, x1);
}

}  // namespace

RefTensor roi_align(const RefTensor& x, const RefTensor& boxes, const std::vector<int64_t>& batch,
                    const RoiAlignParams& p) {
  const int64_t k = boxes.shape[0], c = x.shape[1], oh = p.output_h, ow = p.output_w;
  RefTensor y({k, c, oh, ow});
  const double off = p.aligned ? 0.5 : 0.0;
  for (int64_t r = 0; r < k; ++r) {
    const double* b = boxes.v.data() + 4 * r;
    const double x1 = b[0] * p.spatial_scale - off, y1 = b[1] * p.spatial_scale - off;
    double bw = b[2] * p.spatial_scale - off - x1, bh = b[3] * p.spatial_scale - off - y1;
    if (!p.aligned) {
      bw = std::max(bw, 1.0);
      bh = std::max(bh, 1.0);
    }
    const double cell_h = bh / static_cast<double>(oh), cell_w = bw / static_cast<double>(ow);
    const int64_t gh = p.sampling_ratio > 0
                           ? p.sampling_ratio
                           : std::max<int64_t>(0, static_cast<int64_t>(std::ceil(cell_h)));
    const int64_t gw = p.sampling_ratio > 0
                           ? p.sampling_ratio
                           : std::max<int64_t>(0, static_cast<int64_t>(std::ceil(cell_w)));
    const double count = static_cast<double>(std::max<int64_t>(gh * gw, 1));
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t py = 0; py < oh; ++py)
        for (int64_t px = 0; px < ow; ++px) {
          double sum = 0.0;
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix)
              sum += bilinear(
                  x, batch[static_cast<size_t>(r)], ch,
                  y1 + cell_h * (static_cast<double>(py) +
                                 (static_cast<double>(iy) + 0.5) / static_cast<double>(gh)),
                  x1 + cell_w * (static_cast<double>(px) +
                                 (static_cast<double>(ix) + 0.5) / static_cast<double>(gw)));
          y.at(r, ch, py, px) = sum / count;
        }
  }
  return y;
}

}  // namespace ringmaster::ops::reference
