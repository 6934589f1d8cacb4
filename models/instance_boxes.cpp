// write_instance_boxes and instance_pixel_counts (see instance_boxes.h): one
// pass over the mask gathers each id's pixel count and extent.
#include "models/instance_boxes.h"

#include <algorithm>
#include <limits>

namespace ringmaster::models {
namespace {

struct Extent {
  int64_t pixels = 0;
  int64_t x0 = std::numeric_limits<int64_t>::max(), y0 = std::numeric_limits<int64_t>::max();
  int64_t x1 = -1, y1 = -1;  // last pixel column and row
};

std::vector<Extent> extents_of(const uint8_t* mask, int64_t h, int64_t w, int64_t m) {
  std::vector<Extent> e(static_cast<size_t>(m));
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const int64_t id = mask[y * w + x];
      if (id == 0 || id > m) continue;
      Extent& k = e[static_cast<size_t>(id - 1)];
      ++k.pixels;
      k.x0 = std::min(k.x0, x);
      k.x1 = std::max(k.x1, x);
      k.y0 = std::min(k.y0, y);
      k.y1 = std::max(k.y1, y);
    }
  }
  return e;
}

}  // namespace

std::vector<int64_t> instance_pixel_counts(const uint8_t* mask, int64_t h, int64_t w, int64_t m) {
  std::vector<int64_t> out;
  for (const Extent& e : extents_of(mask, h, w, m)) out.push_back(e.pixels);
  return out;
}

void unlabel_hidden_items(uint8_t* mask, int64_t pixels, const std::vector<int64_t>& full,
                          double min_visible, int64_t* classes) {
  const auto m = static_cast<int64_t>(full.size());
  const std::vector<int64_t> visible = instance_pixel_counts(mask, 1, pixels, m);
  std::vector<bool> hidden(full.size());
  for (size_t k = 0; k < full.size(); ++k) {
    hidden[k] = visible[k] == 0 ||
                static_cast<double>(visible[k]) < min_visible * static_cast<double>(full[k]);
    if (hidden[k]) classes[k] = -1;
  }
  for (int64_t j = 0; j < pixels; ++j)
    if (mask[j] != 0 && mask[j] <= m && hidden[mask[j] - 1u]) mask[j] = 0;
}

int64_t write_instance_boxes(const uint8_t* mask, int64_t h, int64_t w, const int64_t* classes,
                             int64_t m, const VisibilityRule& rule, float* boxes,
                             int64_t* box_classes) {
  const std::vector<Extent> e = extents_of(mask, h, w, m);
  std::fill_n(boxes, m * 4, 0.0f);
  std::fill_n(box_classes, m, int64_t{-1});
  int64_t n = 0;
  for (int64_t k = 0; k < m; ++k) {
    const Extent& x = e[static_cast<size_t>(k)];
    if (classes[k] < 0 || x.pixels == 0) continue;
    if (rule.before != nullptr &&
        static_cast<double>(x.pixels) <
            rule.min_visible * static_cast<double>(rule.before[k]) * rule.area_scale)
      continue;
    float* b = boxes + n * 4;
    b[0] = static_cast<float>(x.x0);
    b[1] = static_cast<float>(x.y0);
    b[2] = static_cast<float>(x.x1 + 1);
    b[3] = static_cast<float>(x.y1 + 1);
    box_classes[n++] = classes[k];
  }
  return n;
}

}  // namespace ringmaster::models
