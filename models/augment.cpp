// Augmentation (see augment.h): a counter-based generator per (seed, epoch,
// index, step), and the primitives as inverse-mapped resampling (bilinear for
// rotate and scale, exact integer shifts for translate and crop).
#include "models/augment.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "ops/check.h"

namespace ringmaster::models {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform draws for one (seed, epoch, index, step): a splitmix64 stream.
class Draws {
 public:
  Draws(uint64_t seed, int64_t epoch, int64_t index, size_t step)
      : state_(mix(mix(mix(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index)) ^
               static_cast<uint64_t>(step)) {}
  double uniform() {  // [0, 1)
    state_ += 0x9e3779b97f4a7c15ULL;
    return static_cast<double>(mix(state_) >> 11) * 0x1.0p-53;
  }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  int64_t integer(int64_t lo, int64_t hi) {  // [lo, hi]
    return lo + static_cast<int64_t>(uniform() * static_cast<double>(hi - lo + 1));
  }

 private:
  uint64_t state_;
};

uint8_t to_u8(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

// out(y, x) = bilinear sample of in at (src_y, src_x) = map(y, x); fill outside.
template <class Map>
void resample(uint8_t* image, int64_t c, int64_t h, int64_t w, int64_t fill, Map map) {
  std::vector<uint8_t> src(image, image + c * h * w);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const auto [sy, sx] = map(static_cast<double>(y), static_cast<double>(x));
      const double fy = std::floor(sy), fx = std::floor(sx);
      const double ay = sy - fy, ax = sx - fx;
      const int64_t y0 = static_cast<int64_t>(fy), x0 = static_cast<int64_t>(fx);
      for (int64_t k = 0; k < c; ++k) {
        const uint8_t* plane = src.data() + k * h * w;
        auto at = [&](int64_t yy, int64_t xx) -> double {
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) return static_cast<double>(fill);
          return plane[yy * w + xx];
        };
        double v = 0.0;
        // Taps with zero weight are skipped, so exact positions read one pixel.
        const double wy[2] = {1.0 - ay, ay}, wx[2] = {1.0 - ax, ax};
        for (int i = 0; i < 2; ++i) {
          if (wy[i] == 0.0) continue;
          for (int j = 0; j < 2; ++j) {
            if (wx[j] == 0.0) continue;
            v += wy[i] * wx[j] * at(y0 + i, x0 + j);
          }
        }
        image[(k * h + y) * w + x] = to_u8(v);
      }
    }
  }
}

// Masks: out(y, x) = in at the nearest pixel to map(y, x) (labels do not
// blend); `fill` outside.
template <class Map>
void resample_nearest(uint8_t* mask, int64_t h, int64_t w, int64_t fill, Map map) {
  std::vector<uint8_t> src(mask, mask + h * w);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const auto [sy, sx] = map(static_cast<double>(y), static_cast<double>(x));
      const auto ny = static_cast<int64_t>(std::lround(sy)),
                 nx = static_cast<int64_t>(std::lround(sx));
      const bool in = ny >= 0 && ny < h && nx >= 0 && nx < w;
      mask[y * w + x] = in ? src[static_cast<size_t>(ny * w + nx)] : static_cast<uint8_t>(fill);
    }
  }
}

// Output (y, x) -> source position for a counter-clockwise turn about the centre.
auto rotation_map(int64_t h, int64_t w, double degrees) {
  double sn = std::sin(degrees * std::numbers::pi / 180.0);
  double cs = std::cos(degrees * std::numbers::pi / 180.0);
  const double quarter = degrees / 90.0;
  if (quarter == std::round(quarter)) {  // exact for multiples of 90 degrees
    const int64_t q = ((static_cast<int64_t>(std::round(quarter)) % 4) + 4) % 4;
    const double s4[4] = {0, 1, 0, -1}, c4[4] = {1, 0, -1, 0};
    sn = s4[q];
    cs = c4[q];
  }
  const double cy = (static_cast<double>(h) - 1.0) / 2.0, cx = (static_cast<double>(w) - 1.0) / 2.0;
  // Rows grow downwards: a counter-clockwise turn on screen takes the
  // source offset (dy, dx) to (cs*dy - sn*dx, sn*dy + cs*dx); the output
  // offset maps back through the inverse turn.
  return [=](double y, double x) {
    const double dy = y - cy, dx = x - cx;
    return std::pair<double, double>{cs * dy + sn * dx + cy, -sn * dy + cs * dx + cx};
  };
}

// Output (y, x) -> source position for a zoom by `factor` about the centre.
auto scale_map(int64_t h, int64_t w, double factor) {
  const double cy = (static_cast<double>(h) - 1.0) / 2.0, cx = (static_cast<double>(w) - 1.0) / 2.0;
  return [=](double y, double x) {
    return std::pair<double, double>{(y - cy) / factor + cy, (x - cx) / factor + cx};
  };
}

}  // namespace

const char* augment_kind_name(AugmentStep::Kind k) {
  switch (k) {
    case AugmentStep::Kind::rotate:
      return "rotate";
    case AugmentStep::Kind::translate:
      return "translate";
    case AugmentStep::Kind::crop:
      return "crop";
    case AugmentStep::Kind::hflip:
      return "hflip";
    case AugmentStep::Kind::scale:
      return "scale";
    case AugmentStep::Kind::color_jitter:
      return "color_jitter";
    case AugmentStep::Kind::cutout:
      return "cutout";
  }
  return "?";
}

bool augment_kind_from_name(const std::string& name, AugmentStep::Kind& out) {
  for (auto k : {AugmentStep::Kind::rotate, AugmentStep::Kind::translate, AugmentStep::Kind::crop,
                 AugmentStep::Kind::hflip, AugmentStep::Kind::scale,
                 AugmentStep::Kind::color_jitter, AugmentStep::Kind::cutout}) {
    if (name == augment_kind_name(k)) {
      out = k;
      return true;
    }
  }
  return false;
}

void augment_hflip(uint8_t* image, int64_t c, int64_t h, int64_t w) {
  for (int64_t row = 0; row < c * h; ++row) std::reverse(image + row * w, image + row * w + w);
}

void augment_rotate(uint8_t* image, int64_t c, int64_t h, int64_t w, double degrees, int64_t fill) {
  resample(image, c, h, w, fill, rotation_map(h, w, degrees));
}

void augment_translate(uint8_t* image, int64_t c, int64_t h, int64_t w, int64_t dy, int64_t dx,
                       int64_t fill) {
  std::vector<uint8_t> src(image, image + c * h * w);
  for (int64_t k = 0; k < c; ++k) {
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w; ++x) {
        const int64_t sy = y - dy, sx = x - dx;
        const bool in = sy >= 0 && sy < h && sx >= 0 && sx < w;
        image[(k * h + y) * w + x] =
            in ? src[static_cast<size_t>((k * h + sy) * w + sx)] : static_cast<uint8_t>(fill);
      }
    }
  }
}

void augment_crop(uint8_t* image, int64_t c, int64_t h, int64_t w, int64_t padding, int64_t top,
                  int64_t left, int64_t fill) {
  RM_CHECK(top >= 0 && left >= 0 && top <= 2 * padding && left <= 2 * padding, "crop at (", top,
           ", ", left, ") outside the padding ", padding);
  // Output (y, x) is padded (y + top, x + left) = source (y + top - padding, x + left - padding).
  augment_translate(image, c, h, w, padding - top, padding - left, fill);
}

void augment_scale(uint8_t* image, int64_t c, int64_t h, int64_t w, double factor, int64_t fill) {
  resample(image, c, h, w, fill, scale_map(h, w, factor));
}

void augment_color(uint8_t* image, int64_t c, int64_t h, int64_t w, double brightness,
                   double contrast, double saturation) {
  const int64_t n = h * w;
  std::vector<double> v(image, image + c * n);
  for (double& x : v) x *= brightness;
  // Grey level of each pixel (ITU-R 601 weights, as torchvision), or the only channel.
  auto grey = [&](int64_t i) {
    return c == 3 ? 0.299 * v[static_cast<size_t>(i)] + 0.587 * v[static_cast<size_t>(n + i)] +
                        0.114 * v[static_cast<size_t>(2 * n + i)]
                  : v[static_cast<size_t>(i)];
  };
  double mean = 0.0;
  for (int64_t i = 0; i < n; ++i) mean += grey(i);
  mean /= static_cast<double>(n);
  for (double& x : v) x = (x - mean) * contrast + mean;
  if (c == 3 && saturation != 1.0) {
    for (int64_t i = 0; i < n; ++i) {
      const double g = grey(i);
      for (int64_t k = 0; k < 3; ++k) {
        double& x = v[static_cast<size_t>(k * n + i)];
        x = (x - g) * saturation + g;
      }
    }
  }
  for (size_t i = 0; i < v.size(); ++i) image[i] = to_u8(v[i]);
}

void augment_cutout(uint8_t* image, int64_t c, int64_t h, int64_t w, int64_t cy, int64_t cx,
                    int64_t size, int64_t fill) {
  const int64_t y0 = std::max<int64_t>(0, cy - size / 2), y1 = std::min(h, cy - size / 2 + size);
  const int64_t x0 = std::max<int64_t>(0, cx - size / 2), x1 = std::min(w, cx - size / 2 + size);
  for (int64_t k = 0; k < c; ++k) {
    for (int64_t y = y0; y < y1; ++y) {
      for (int64_t x = x0; x < x1; ++x) image[(k * h + y) * w + x] = static_cast<uint8_t>(fill);
    }
  }
}

Augmenter::Augmenter(std::vector<AugmentStep> steps) : steps_(std::move(steps)) {}

double Augmenter::apply(uint8_t* image, int64_t c, int64_t h, int64_t w, uint64_t seed,
                        int64_t epoch, int64_t index, uint8_t* mask) const {
  double area_scale = 1.0;
  for (size_t s = 0; s < steps_.size(); ++s) {
    const AugmentStep& st = steps_[s];
    Draws d(seed, epoch, index, s);
    if (d.uniform() >= st.p) continue;  // every step draws its coin first
    switch (st.kind) {
      case AugmentStep::Kind::rotate: {
        const double degrees = d.uniform(-st.degrees, st.degrees);
        augment_rotate(image, c, h, w, degrees, st.fill);
        if (mask != nullptr) resample_nearest(mask, h, w, 0, rotation_map(h, w, degrees));
        break;
      }
      case AugmentStep::Kind::translate: {
        const int64_t dy = d.integer(-st.pixels, st.pixels);
        const int64_t dx = d.integer(-st.pixels, st.pixels);
        augment_translate(image, c, h, w, dy, dx, st.fill);
        if (mask != nullptr) augment_translate(mask, 1, h, w, dy, dx, 0);
        break;
      }
      case AugmentStep::Kind::crop: {
        const int64_t top = d.integer(0, 2 * st.padding);
        const int64_t left = d.integer(0, 2 * st.padding);
        augment_crop(image, c, h, w, st.padding, top, left, st.fill);
        if (mask != nullptr) augment_crop(mask, 1, h, w, st.padding, top, left, 0);
        break;
      }
      case AugmentStep::Kind::hflip:
        augment_hflip(image, c, h, w);
        if (mask != nullptr) augment_hflip(mask, 1, h, w);
        break;
      case AugmentStep::Kind::scale: {
        const double factor = d.uniform(st.min_scale, st.max_scale);
        augment_scale(image, c, h, w, factor, st.fill);
        if (mask != nullptr) resample_nearest(mask, h, w, 0, scale_map(h, w, factor));
        area_scale *= factor * factor;
        break;
      }
      case AugmentStep::Kind::color_jitter: {
        const double b = d.uniform(1.0 - st.brightness, 1.0 + st.brightness);
        const double k = d.uniform(1.0 - st.contrast, 1.0 + st.contrast);
        augment_color(image, c, h, w, b, k, d.uniform(1.0 - st.saturation, 1.0 + st.saturation));
        break;
      }
      case AugmentStep::Kind::cutout: {
        const int64_t cy = d.integer(0, h - 1);
        augment_cutout(image, c, h, w, cy, d.integer(0, w - 1), st.size, st.fill);
        break;
      }
    }
  }
  return area_scale;
}

}  // namespace ringmaster::models
