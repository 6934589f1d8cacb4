// make_composites (see composites.h): a texture of four random plane waves
// plus a little noise (grey 10..110), then 1..max_items items, each scaled
// when asked and pasted with its mask. One splitmix64 stream per image.
#include "models/composites.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "models/instance_boxes.h"
#include "models/plane_waves.h"
#include "ops/check.h"

namespace ringmaster::models {
namespace {

// An item's pixels (h, w) u8, after scaling.
struct ItemPixels {
  int64_t h = 0, w = 0;
  std::vector<uint8_t> px;
};

// The two source pixels (i0, i1) and the weight a of i1 that output index
// i samples along an axis of n pixels scaled by n_out / n.
struct Tap {
  int64_t i0, i1;
  double a;
};
Tap tap(int64_t i, double step, int64_t n) {
  const double f =
      std::clamp((static_cast<double>(i) + 0.5) * step - 0.5, 0.0, static_cast<double>(n - 1));
  const auto i0 = static_cast<int64_t>(f);
  return {i0, std::min(i0 + 1, n - 1), f - static_cast<double>(i0)};
}

// src (h, w) scaled by `factor` to (round(h f), round(w f)), bilinear with
// half-pixel centres (align_corners false), edges clamped. A factor of 1
// copies exactly.
ItemPixels scale_item(const uint8_t* src, int64_t h, int64_t w, double factor) {
  ItemPixels out;
  out.h = std::max<int64_t>(1, std::llround(static_cast<double>(h) * factor));
  out.w = std::max<int64_t>(1, std::llround(static_cast<double>(w) * factor));
  out.px.resize(static_cast<size_t>(out.h * out.w));
  const double sy = static_cast<double>(h) / static_cast<double>(out.h);
  const double sx = static_cast<double>(w) / static_cast<double>(out.w);
  for (int64_t y = 0; y < out.h; ++y) {
    const Tap ty = tap(y, sy, h);
    for (int64_t x = 0; x < out.w; ++x) {
      const Tap tx = tap(x, sx, w);
      const double top = src[ty.i0 * w + tx.i0] * (1.0 - tx.a) + src[ty.i0 * w + tx.i1] * tx.a;
      const double bottom = src[ty.i1 * w + tx.i0] * (1.0 - tx.a) + src[ty.i1 * w + tx.i1] * tx.a;
      out.px[static_cast<size_t>(y * out.w + x)] =
          static_cast<uint8_t>(std::lround(top * (1.0 - ty.a) + bottom * ty.a));
    }
  }
  return out;
}

void check_options(const Dataset& items, const CompositeOptions& o) {
  RM_THROW_IF(!items.images.defined() || items.images.ndim() != 4 || items.images.dim(1) != 1 ||
                  items.size() == 0,
              "composites: items must be a non-empty set of (N, 1, h, w) grey images");
  const int64_t ih = items.images.dim(2), iw = items.images.dim(3), n = o.size;
  RM_THROW_IF(
      o.count < 1 || o.max_items < 1 || o.max_items > 254 || o.threshold < 0 || o.threshold > 254,
      "composites: count ", o.count, ", max_items ", o.max_items, ", threshold ", o.threshold);
  RM_THROW_IF(!(o.scale_min > 0.0) || !(o.scale_max >= o.scale_min) || !std::isfinite(o.scale_max),
              "composites: scale_min must be > 0 and scale_max >= scale_min, got ", o.scale_min,
              " and ", o.scale_max);
  const int64_t largest =
      std::llround(static_cast<double>(std::max(ih, iw)) * std::max(o.scale_max, 1e-9));
  RM_THROW_IF(largest > n, "composites: size ", n, " is smaller than the largest item (", ih, "x",
              iw, " scaled by scale_max ", o.scale_max, ")");
  RM_THROW_IF(!(o.min_visible >= 0.0 && o.min_visible <= 1.0),
              "composites: min_visible must be in [0, 1], got ", o.min_visible);
}

}  // namespace

Dataset make_composites(const Dataset& items, const CompositeOptions& o) {
  check_options(items, o);
  const int64_t ih = items.images.dim(2), iw = items.images.dim(3), n = o.size;
  Dataset out;
  out.num_classes = items.num_classes + 1;
  out.images = ops::Tensor::empty({o.count, 1, n, n}, ops::DType::u8);
  out.masks = ops::Tensor::empty({o.count, n, n}, ops::DType::u8);
  out.labels.resize(static_cast<size_t>(o.count));
  if (o.instances) {
    out.instance_classes = ops::Tensor::empty({o.count, o.max_items}, ops::DType::i64);
    std::fill_n(out.instance_classes.data<int64_t>(), o.count * o.max_items, int64_t{-1});
    out.min_visible = o.min_visible;
  }
  const uint8_t* item_px = items.images.data<uint8_t>();
  const bool jitter = o.scale_min != o.scale_max;
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
    std::vector<int64_t> full(static_cast<size_t>(count));  // item pixels before occlusion
    int64_t* classes =
        o.instances ? out.instance_classes.data<int64_t>() + k * o.max_items : nullptr;
    for (int64_t it = 0; it < count; ++it) {
      const int64_t idx = r.integer(0, items.size() - 1);
      const double factor = jitter ? o.scale_min + (o.scale_max - o.scale_min) * r.uniform() : 1.0;
      const ItemPixels item = scale_item(item_px + idx * ih * iw, ih, iw, factor);
      const int64_t top = r.integer(0, n - item.h), left = r.integer(0, n - item.w);
      const auto cls = static_cast<uint8_t>(items.labels[static_cast<size_t>(idx)] + 1);
      if (it == 0) out.labels[static_cast<size_t>(k)] = cls;
      if (classes != nullptr) classes[it] = cls;
      const auto id = o.instances ? static_cast<uint8_t>(it + 1) : cls;
      for (int64_t y = 0; y < item.h; ++y) {
        for (int64_t x = 0; x < item.w; ++x) {
          const uint8_t v = item.px[static_cast<size_t>(y * item.w + x)];
          if (v <= o.threshold) continue;
          img[(top + y) * n + left + x] = v;
          mask[(top + y) * n + left + x] = id;
          ++full[static_cast<size_t>(it)];
        }
      }
    }
    if (o.instances) unlabel_hidden_items(mask, n * n, full, o.min_visible, classes);
  }
  return out;
}

}  // namespace ringmaster::models
