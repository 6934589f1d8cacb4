// make_caption_composites (see caption_composites.h): the background, the
// items, then the sentences from the layout. One splitmix64 stream per image.
#include "models/caption_composites.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "models/plane_waves.h"
#include "ops/check.h"

namespace ringmaster::models {
namespace {

enum class Background { kPlain, kStriped, kChecked, kDotted, kWavy };

// Fills the n x n canvas with grey 10..110.
void draw_background(Background kind, RandomStream& r, int64_t n, uint8_t* img) {
  const double level = 35.0 + 40.0 * r.uniform(), contrast = 20.0 + 15.0 * r.uniform();
  const double period = 6.0 + 6.0 * r.uniform(), phase = 2.0 * std::numbers::pi * r.uniform();
  const PlaneWaves waves(r);
  const double k = 2.0 * std::numbers::pi / period;
  for (int64_t y = 0; y < n; ++y) {
    for (int64_t x = 0; x < n; ++x) {
      const double fy_ = static_cast<double>(y), fx_ = static_cast<double>(x);
      double v = level;
      switch (kind) {
        case Background::kPlain:
          break;
        case Background::kStriped:
          v += contrast * (std::sin(k * fy_ + phase) > 0 ? 1.0 : -1.0);
          break;
        case Background::kChecked:
          v += contrast *
               ((std::sin(k * fy_ + phase) > 0) == (std::sin(k * fx_ + phase) > 0) ? 1.0 : -1.0);
          break;
        case Background::kDotted: {
          const double dy = std::fmod(fy_ + phase, 8.0) - 4.0,
                       dx = std::fmod(fx_ + phase, 8.0) - 4.0;
          v += dy * dy + dx * dx <= 2.5 ? 2.0 * contrast : 0.0;
          break;
        }
        case Background::kWavy:
          v += 11.0 * waves.at(fy_, fx_);
          break;
      }
      v += 6.0 * (r.uniform() - 0.5);
      img[y * n + x] = static_cast<uint8_t>(std::clamp(v, 10.0, 110.0));
    }
  }
}

const std::vector<std::string>& item_words() { return fashion_mnist_class_names(); }

std::string with_article(const std::string& noun) {
  return (noun[0] == 'a' || noun[0] == 'e' || noun[0] == 'i' || noun[0] == 'o' ? "an " : "a ") +
         noun;
}

std::string plural(const std::string& noun) { return noun == "dress" ? "dresses" : noun + "s"; }

// Every phrasing of a layout: one item `a`; or `a` left of / above `b`.
std::vector<std::string> phrasings(int64_t count, bool side_by_side, const std::string& a,
                                   const std::string& b, const std::string& bg) {
  const std::string on = " on " + with_article(bg) + " background";
  const std::string with = with_article(bg) + " background with ";
  const std::string A = with_article(a), B = with_article(b);
  if (count == 1)
    return {A + on,
            with + A,
            A + " against " + with_article(bg) + " background",
            "one " + a + on,
            "there is " + A + on,
            "a picture of " + A + on,
            A + " alone" + on};
  if (a == b) {
    const std::string two = "two " + plural(a);
    if (side_by_side)
      return {two + " side by side" + on,
              two + " next to each other" + on,
              with + two + " side by side",
              two + on,
              "there are " + two + " side by side" + on,
              "a pair of " + plural(a) + on};
    return {two + " one above the other" + on,
            two + " stacked" + on,
            with + two + " one above the other",
            two + on,
            "there are " + two + " one above the other" + on,
            "one " + a + " above another" + on};
  }
  if (side_by_side)
    return {A + " to the left of " + B + on,
            B + " to the right of " + A + on,
            A + " and " + B + " side by side" + on,
            A + " next to " + B + on,
            with + A + " on the left and " + B + " on the right",
            "there is " + A + " on the left of " + B + on};
  return {A + " above " + B + on,
          B + " below " + A + on,
          A + " over " + B + on,
          B + " under " + A + on,
          with + A + " at the top and " + B + " at the bottom",
          "there is " + A + " above " + B + on};
}

}  // namespace

const std::vector<std::string>& background_words() {
  static const std::vector<std::string> w = {"plain", "striped", "checked", "dotted", "wavy"};
  return w;
}

CaptionedImages make_caption_composites(const Dataset& items, const CaptionCompositeOptions& o) {
  RM_THROW_IF(!items.images.defined() || items.images.ndim() != 4 || items.images.dim(1) != 1 ||
                  items.size() == 0,
              "caption composites: items must be a non-empty set of (N, 1, h, w) grey images");
  const int64_t ih = items.images.dim(2), iw = items.images.dim(3), n = o.size;
  RM_THROW_IF(o.count < 1 || o.max_items < 1 || o.max_items > 2 || o.references < 1 ||
                  o.references > 6 || ih > n || iw > n ||
                  (o.max_items == 2 && 2 * std::max(ih, iw) > n),
              "caption composites: count ", o.count, ", max_items ", o.max_items, " (1 or 2), ",
              "references ", o.references, " (1..6), size ", n, " (items are ", ih, "x", iw,
              "; two need twice that)");
  for (int64_t label : items.labels)
    RM_THROW_IF(label < 0 || label >= static_cast<int64_t>(item_words().size()),
                "caption composites: item class ", label, " has no name (Fashion-MNIST's 10)");
  CaptionedImages out;
  Dataset& ds = out.images;
  ds.num_classes = items.num_classes;
  ds.images = ops::Tensor::empty({o.count, 1, n, n}, ops::DType::u8);
  ds.labels.resize(static_cast<size_t>(o.count));
  const uint8_t* item_px = items.images.data<uint8_t>();
  for (int64_t k = 0; k < o.count; ++k) {
    RandomStream r(o.seed * 0x9e3779b97f4a7c15ULL +
                   0x632be59bd9b4e019ULL * static_cast<uint64_t>(k + 1));
    uint8_t* img = ds.images.data<uint8_t>() + k * n * n;
    const auto bg = static_cast<Background>(r.integer(0, 4));
    draw_background(bg, r, n, img);
    const int64_t count = r.integer(1, o.max_items);
    const bool side_by_side = r.uniform() < 0.5;
    std::string names[2];
    for (int64_t it = 0; it < count; ++it) {
      const int64_t idx = r.integer(0, items.size() - 1);
      const int64_t label = items.labels[static_cast<size_t>(idx)];
      names[it] = item_words()[static_cast<size_t>(label)];
      if (it == 0) ds.labels[static_cast<size_t>(k)] = label;
      int64_t top = r.integer(0, n - ih), left = r.integer(0, n - iw);
      if (count == 2 && side_by_side) left = it * (n / 2) + r.integer(0, n / 2 - iw);
      if (count == 2 && !side_by_side) top = it * (n / 2) + r.integer(0, n / 2 - ih);
      const uint8_t* src = item_px + idx * ih * iw;
      for (int64_t y = 0; y < ih; ++y)
        for (int64_t x = 0; x < iw; ++x)
          if (src[y * iw + x] > o.threshold) img[(top + y) * n + left + x] = src[y * iw + x];
    }
    std::vector<std::string> all = phrasings(count, side_by_side, names[0], names[1],
                                             background_words()[static_cast<size_t>(bg)]);
    for (size_t i = all.size() - 1; i > 0; --i)  // Fisher-Yates; the first `references` are kept
      std::swap(all[i], all[static_cast<size_t>(r.integer(0, static_cast<int64_t>(i)))]);
    all.resize(static_cast<size_t>(o.references));
    out.captions.push_back(std::move(all));
  }
  return out;
}

}  // namespace ringmaster::models
