// make_anchors (see anchors.h).
#include "ops/anchors.h"

#include <cmath>

#include "ops/check.h"

namespace ringmaster::ops {

Tensor make_anchors(const AnchorGrid& g) {
  RM_THROW_IF(g.sizes.empty() || g.ratios.empty(), "anchors: give at least one size and ratio");
  for (double v : g.sizes)
    RM_THROW_IF(!(v > 0) || !std::isfinite(v), "anchors: size ", v, " must be positive");
  for (double v : g.ratios)
    RM_THROW_IF(!(v > 0) || !std::isfinite(v), "anchors: aspect ratio ", v, " must be positive");
  RM_THROW_IF(g.grid_h < 1 || g.grid_w < 1 || g.grid_h * g.grid_w > (int64_t{1} << 24) ||
                  !(g.stride_h > 0) || !(g.stride_w > 0),
              "anchors: a ", g.grid_h, " x ", g.grid_w, " grid with strides ", g.stride_h, ", ",
              g.stride_w, " (cells 1 .. 2^24, strides positive)");
  std::vector<float> base;  // (A, 4)
  for (double r : g.ratios)
    for (double s : g.sizes) {
      const double hr = std::sqrt(r), w = s / hr, h = s * hr;
      for (double v : {-w / 2, -h / 2, w / 2, h / 2})
        base.push_back(static_cast<float>(std::nearbyint(v)));
    }
  const auto a = static_cast<int64_t>(base.size() / 4);
  Tensor out = Tensor::empty({g.grid_h * g.grid_w * a, 4});
  float* o = out.data<float>();
  for (int64_t y = 0; y < g.grid_h; ++y)
    for (int64_t x = 0; x < g.grid_w; ++x) {
      const auto sx = static_cast<float>(static_cast<double>(x) * g.stride_w);
      const auto sy = static_cast<float>(static_cast<double>(y) * g.stride_h);
      for (int64_t k = 0; k < a; ++k, o += 4) {
        o[0] = sx + base[static_cast<size_t>(4 * k)];
        o[1] = sy + base[static_cast<size_t>(4 * k + 1)];
        o[2] = sx + base[static_cast<size_t>(4 * k + 2)];
        o[3] = sy + base[static_cast<size_t>(4 * k + 3)];
      }
    }
  return out;
}

}  // namespace ringmaster::ops
