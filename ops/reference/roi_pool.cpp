#include "ops/reference/roi_pool.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace ringmaster::ops::reference {

RefTensor roi_pool(const RefTensor& x, const RefTensor& boxes, const std::vector<int64_t>& batch,
                   const RoiPoolParams& p) {
  const int64_t k = boxes.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  const int64_t oh = p.output_h, ow = p.output_w;
  RefTensor y({k, c, oh, ow});
  const auto scale = static_cast<float>(p.spatial_scale);
  for (int64_t r = 0; r < k; ++r) {
    // Corners to whole cells: round half away from zero.
    int64_t corner[4];
    for (int j = 0; j < 4; ++j)
      corner[j] = std::lround(static_cast<float>(boxes.v[static_cast<size_t>(4 * r + j)]) * scale);
    const int64_t roi_w = std::max<int64_t>(corner[2] - corner[0] + 1, 1);
    const int64_t roi_h = std::max<int64_t>(corner[3] - corner[1] + 1, 1);
    const float bin_h = static_cast<float>(roi_h) / static_cast<float>(oh);
    const float bin_w = static_cast<float>(roi_w) / static_cast<float>(ow);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t py = 0; py < oh; ++py)
        for (int64_t px = 0; px < ow; ++px) {
          const int64_t top = std::clamp<int64_t>(
              static_cast<int64_t>(std::floor(static_cast<float>(py) * bin_h)) + corner[1], 0, h);
          const int64_t bottom = std::clamp<int64_t>(
              static_cast<int64_t>(std::ceil(static_cast<float>(py + 1) * bin_h)) + corner[1], 0,
              h);
          const int64_t left = std::clamp<int64_t>(
              static_cast<int64_t>(std::floor(static_cast<float>(px) * bin_w)) + corner[0], 0, w);
          const int64_t right = std::clamp<int64_t>(
              static_cast<int64_t>(std::ceil(static_cast<float>(px + 1) * bin_w)) + corner[0], 0,
              w);
          double best = 0.0;  // an empty bin
          if (bottom > top && right > left) {
            best = -std::numeric_limits<double>::infinity();
            for (int64_t yy = top; yy < bottom; ++yy)
              for (int64_t xx = left; xx < right; ++xx)
                best = std::max(best, x.at(batch[static_cast<size_t>(r)], ch, yy, xx));
          }
          y.at(r, ch, py, px) = best;
        }
  }
  return y;
}

}  // namespace ringmaster::ops::reference
