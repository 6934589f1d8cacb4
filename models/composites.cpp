// make_composites (see composites.h): a texture of four random plane waves
// plus a little noise (grey 10..110), then 1..max_items items pasted with
// their masks. One splitmix64 stream per image.
#include "models/composites.h"

#include <algorithm>
#include <cmath>

#include "models/plane_waves.h"
#include "ops/check.h"

namespace ringmaster::models {

Dataset make_composites(const Dataset& items, const CompositeOptions& o) {
  RM_THROW_IF(!items.images.defined() || items.images.ndim() != 4 || items.images.dim(1) != 1 ||
                  items.size() == 0,
              "composites: items must be a non-empty set of (N, 1, h, w) grey images");
  const int64_t ih = items.images.dim(2), iw = items.images.dim(3), n = o.size;
  RM_THROW_IF(
      o.count < 1 || o.max_items < 1 || ih > n || iw > n || o.threshold < 0 || o.threshold > 254,
      "composites: count ", o.count, ", max_items ", o.max_items, ", size ", n, " (items are ", ih,
      "x", iw, "), threshold ", o.threshold);
  Dataset out;
  out.num_classes = items.num_classes + 1;
  out.images = ops::Tensor::empty({o.count, 1, n, n}, ops::DType::u8);
  out.masks = ops::Tensor::empty({o.count, n, n}, ops::DType::u8);
  out.labels.resize(static_cast<size_t>(o.count));
  const uint8_t* item_px = items.images.data<uint8_t>();
  for (int64_t k = 0; k < o.count; ++k) {
    RandomStream r(o.seed * 0x2545f4914f6cdd1dULL + static_cast<uint64_t>(k));
    uint8_t* img = out.images.data<uint8_t>() + k * n * n;  // (H, W)
    uint8_t* mask = out.masks.data<uint8_t>() + k * n * n;  // (H, W)
    const PlaneWaves waves(r);
    for (int64_t y = 0; y < n; ++y) {
      for (int64_t x = 0; x < n; ++x) {
        double v = waves.at(static_cast<double>(y), static_cast<double>(x));
        v = 60.0 + 11.0 * v + 10.0 * (r.uniform() - 0.5);  // 60 +- 44 +- 5
        img[y * n + x] = static_cast<uint8_t>(std::clamp(v, 10.0, 110.0));
        mask[y * n + x] = 0;
      }
    }
    const int64_t count = r.integer(1, o.max_items);
    for (int64_t it = 0; it < count; ++it) {
      const int64_t idx = r.integer(0, items.size() - 1);
      const int64_t top = r.integer(0, n - ih), left = r.integer(0, n - iw);
      const auto cls = static_cast<uint8_t>(items.labels[static_cast<size_t>(idx)] + 1);
      if (it == 0) out.labels[static_cast<size_t>(k)] = cls;
      const uint8_t* src = item_px + idx * ih * iw;
      for (int64_t y = 0; y < ih; ++y) {
        for (int64_t x = 0; x < iw; ++x) {
          const uint8_t v = src[y * iw + x];
          if (v <= o.threshold) continue;
          img[(top + y) * n + left + x] = v;
          mask[(top + y) * n + left + x] = cls;
        }
      }
    }
  }
  return out;
}

}  // namespace ringmaster::models
