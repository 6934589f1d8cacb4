// selective_search and felzenszwalb_segments (see selective_search.h).
#include "models/selective_search.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

namespace ringmaster::models {
namespace {

constexpr int64_t kColourBins = 25, kOrientations = 8, kMagnitudes = 10;

// (c, h, w) planes blurred by a Gaussian of sigma (separable, radius 4 sigma).
std::vector<float> smoothed(const uint8_t* image, int64_t c, int64_t h, int64_t w, double sigma) {
  std::vector<float> out(image, image + c * h * w);
  if (sigma <= 0.0) return out;
  const auto radius = static_cast<int64_t>(std::ceil(4.0 * sigma));
  std::vector<float> kernel(static_cast<size_t>(2 * radius + 1));
  for (int64_t i = -radius; i <= radius; ++i)
    kernel[static_cast<size_t>(i + radius)] =
        static_cast<float>(std::exp(-0.5 * static_cast<double>(i * i) / (sigma * sigma)));
  const float total = std::accumulate(kernel.begin(), kernel.end(), 0.0f);
  for (float& v : kernel) v /= total;
  std::vector<float> tmp(out.size());
  const auto blur = [&](const std::vector<float>& src, std::vector<float>& dst, bool rows) {
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x) {
          float sum = 0.0f;
          for (int64_t i = -radius; i <= radius; ++i) {
            const int64_t yy = rows ? y : std::clamp<int64_t>(y + i, 0, h - 1);
            const int64_t xx = rows ? std::clamp<int64_t>(x + i, 0, w - 1) : x;
            sum += kernel[static_cast<size_t>(i + radius)] *
                   src[static_cast<size_t>((ch * h + yy) * w + xx)];
          }
          dst[static_cast<size_t>((ch * h + y) * w + x)] = sum;
        }
  };
  blur(out, tmp, true);
  blur(tmp, out, false);
  return out;
}

// Union-find over pixels with each set's size and internal difference.
class Segments {
 public:
  explicit Segments(int64_t n, double k)
      : parent_(static_cast<size_t>(n)),
        size_(static_cast<size_t>(n), 1),
        threshold_(static_cast<size_t>(n), k) {
    std::iota(parent_.begin(), parent_.end(), int64_t{0});
  }
  int64_t find(int64_t a) {
    while (parent_[static_cast<size_t>(a)] != a) {
      parent_[static_cast<size_t>(a)] =
          parent_[static_cast<size_t>(parent_[static_cast<size_t>(a)])];
      a = parent_[static_cast<size_t>(a)];
    }
    return a;
  }
  int64_t join(int64_t a, int64_t b) {
    if (size_[static_cast<size_t>(a)] < size_[static_cast<size_t>(b)]) std::swap(a, b);
    parent_[static_cast<size_t>(b)] = a;
    size_[static_cast<size_t>(a)] += size_[static_cast<size_t>(b)];
    return a;
  }
  int64_t size(int64_t a) const { return size_[static_cast<size_t>(a)]; }
  double& threshold(int64_t a) { return threshold_[static_cast<size_t>(a)]; }

 private:
  std::vector<int64_t> parent_, size_;
  std::vector<double> threshold_;
};

struct Edge {
  float weight;
  int64_t a, b;
};

std::vector<Edge> pixel_edges(const std::vector<float>& px, int64_t c, int64_t h, int64_t w) {
  std::vector<Edge> edges;
  const auto add = [&](int64_t y, int64_t x, int64_t y2, int64_t x2) {
    if (y2 < 0 || y2 >= h || x2 >= w) return;
    double d = 0.0;
    for (int64_t ch = 0; ch < c; ++ch) {
      const double v = px[static_cast<size_t>((ch * h + y) * w + x)] -
                       px[static_cast<size_t>((ch * h + y2) * w + x2)];
      d += v * v;
    }
    edges.push_back({static_cast<float>(std::sqrt(d)), y * w + x, y2 * w + x2});
  };
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {  // 8-connected: right, down, and both diagonals
      add(y, x, y, x + 1);
      add(y, x, y + 1, x);
      add(y, x, y + 1, x + 1);
      add(y, x, y - 1, x + 1);
    }
  std::stable_sort(edges.begin(), edges.end(),
                   [](const Edge& a, const Edge& b) { return a.weight < b.weight; });
  return edges;
}

// A region of the hierarchy: its box (inclusive pixel bounds), size and
// normalised histograms.
struct Region {
  int64_t x0, y0, x1, y1;
  double size = 0.0;
  std::vector<double> colour, texture;
};

double intersection(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += std::min(a[i], b[i]);
  return s;
}

double similarity(const Region& a, const Region& b, double image_size) {
  const double box = static_cast<double>((std::max(a.x1, b.x1) - std::min(a.x0, b.x0) + 1) *
                                         (std::max(a.y1, b.y1) - std::min(a.y0, b.y0) + 1));
  return intersection(a.colour, b.colour) + intersection(a.texture, b.texture) +
         (1.0 - (a.size + b.size) / image_size) + (1.0 - (box - a.size - b.size) / image_size);
}

Region merged(const Region& a, const Region& b) {
  Region t{std::min(a.x0, b.x0),
           std::min(a.y0, b.y0),
           std::max(a.x1, b.x1),
           std::max(a.y1, b.y1),
           a.size + b.size,
           a.colour,
           a.texture};
  for (size_t i = 0; i < t.colour.size(); ++i)
    t.colour[i] = (a.colour[i] * a.size + b.colour[i] * b.size) / t.size;
  for (size_t i = 0; i < t.texture.size(); ++i)
    t.texture[i] = (a.texture[i] * a.size + b.texture[i] * b.size) / t.size;
  return t;
}

// The segments as regions, with their histograms.
std::vector<Region> initial_regions(const uint8_t* image, int64_t c, int64_t h, int64_t w,
                                    const std::vector<int64_t>& ids, int64_t n) {
  std::vector<Region> r(static_cast<size_t>(n), Region{w, h, -1, -1, 0.0, {}, {}});
  for (Region& g : r) {
    g.colour.assign(static_cast<size_t>(c * kColourBins), 0.0);
    g.texture.assign(static_cast<size_t>(c * kOrientations * kMagnitudes), 0.0);
  }
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      Region& g = r[static_cast<size_t>(ids[static_cast<size_t>(y * w + x)])];
      g.x0 = std::min(g.x0, x);
      g.y0 = std::min(g.y0, y);
      g.x1 = std::max(g.x1, x);
      g.y1 = std::max(g.y1, y);
      g.size += 1.0;
      for (int64_t ch = 0; ch < c; ++ch) {
        const auto at = [&](int64_t yy, int64_t xx) {
          return static_cast<double>(image[(ch * h + std::clamp<int64_t>(yy, 0, h - 1)) * w +
                                           std::clamp<int64_t>(xx, 0, w - 1)]);
        };
        g.colour[static_cast<size_t>(ch * kColourBins + at(y, x) * kColourBins / 256)] += 1.0;
        const double gx = at(y - 1, x + 1) + 2 * at(y, x + 1) + at(y + 1, x + 1) -
                          at(y - 1, x - 1) - 2 * at(y, x - 1) - at(y + 1, x - 1);
        const double gy = at(y + 1, x - 1) + 2 * at(y + 1, x) + at(y + 1, x + 1) -
                          at(y - 1, x - 1) - 2 * at(y - 1, x) - at(y - 1, x + 1);
        const auto o =
            static_cast<int64_t>((std::atan2(gy, gx) + M_PI) / (2 * M_PI) * kOrientations) %
            kOrientations;
        const int64_t m =
            std::min<int64_t>(kMagnitudes - 1, static_cast<int64_t>(std::hypot(gx, gy) / 32.0));
        g.texture[static_cast<size_t>((ch * kOrientations + o) * kMagnitudes + m)] += 1.0;
      }
    }
  for (Region& g : r) {
    for (double& v : g.colour) v /= g.size * static_cast<double>(c);
    for (double& v : g.texture) v /= g.size * static_cast<double>(c);
  }
  return r;
}

}  // namespace

int64_t felzenszwalb_segments(const uint8_t* image, int64_t c, int64_t h, int64_t w, double k,
                              double sigma, int64_t min_size, std::vector<int64_t>& ids) {
  const std::vector<Edge> edges = pixel_edges(smoothed(image, c, h, w, sigma), c, h, w);
  Segments s(h * w, k);
  for (const Edge& e : edges) {
    int64_t a = s.find(e.a), b = s.find(e.b);
    if (a == b || e.weight > s.threshold(a) || e.weight > s.threshold(b)) continue;
    a = s.join(a, b);
    s.threshold(a) = e.weight + k / static_cast<double>(s.size(a));
  }
  for (const Edge& e : edges) {
    const int64_t a = s.find(e.a), b = s.find(e.b);
    if (a != b && (s.size(a) < min_size || s.size(b) < min_size)) s.join(a, b);
  }
  ids.assign(static_cast<size_t>(h * w), -1);
  std::vector<int64_t> label(static_cast<size_t>(h * w), -1);
  int64_t count = 0;
  for (int64_t p = 0; p < h * w; ++p) {
    int64_t& l = label[static_cast<size_t>(s.find(p))];
    if (l < 0) l = count++;
    ids[static_cast<size_t>(p)] = l;
  }
  return count;
}

namespace {

// One hierarchy's regions: the segments at scale k, then each merge.
std::vector<Region> hierarchy(const uint8_t* image, int64_t c, int64_t h, int64_t w, double k,
                              const SelectiveSearchOptions& o) {
  std::vector<int64_t> ids;
  const int64_t n = felzenszwalb_segments(image, c, h, w, k, o.sigma, o.min_size, ids);
  std::vector<Region> regions = initial_regions(image, c, h, w, ids, n);
  std::set<std::pair<int64_t, int64_t>> adjacent;
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const int64_t a = ids[static_cast<size_t>(y * w + x)];
      if (x + 1 < w && ids[static_cast<size_t>(y * w + x + 1)] != a)
        adjacent.insert(std::minmax(a, ids[static_cast<size_t>(y * w + x + 1)]));
      if (y + 1 < h && ids[static_cast<size_t>((y + 1) * w + x)] != a)
        adjacent.insert(std::minmax(a, ids[static_cast<size_t>((y + 1) * w + x)]));
    }
  const auto image_size = static_cast<double>(h * w);
  struct Pair {
    int64_t a, b;
    double s;
  };
  std::vector<Pair> pairs;
  for (const auto& [a, b] : adjacent)
    pairs.push_back(
        {a, b,
         similarity(regions[static_cast<size_t>(a)], regions[static_cast<size_t>(b)], image_size)});
  while (!pairs.empty()) {  // merge the most similar neighbours (ties: the first pair)
    const Pair best = *std::max_element(pairs.begin(), pairs.end(),
                                        [](const Pair& x, const Pair& y) { return x.s < y.s; });
    const auto t = static_cast<int64_t>(regions.size());
    regions.push_back(
        merged(regions[static_cast<size_t>(best.a)], regions[static_cast<size_t>(best.b)]));
    std::set<int64_t> neighbours;
    std::vector<Pair> kept;
    for (const Pair& p : pairs) {
      const bool touches = p.a == best.a || p.a == best.b || p.b == best.a || p.b == best.b;
      if (!touches) {
        kept.push_back(p);
        continue;
      }
      for (const int64_t r : {p.a, p.b})
        if (r != best.a && r != best.b) neighbours.insert(r);
    }
    for (const int64_t r : neighbours)
      kept.push_back({r, t,
                      similarity(regions[static_cast<size_t>(r)], regions[static_cast<size_t>(t)],
                                 image_size)});
    pairs = std::move(kept);
  }
  return regions;
}

}  // namespace

std::vector<Box4> selective_search(const uint8_t* image, int64_t c, int64_t h, int64_t w,
                                   const SelectiveSearchOptions& o) {
  std::vector<std::vector<Region>> levels;
  size_t longest = 0;
  for (const double k : o.ks) {
    levels.push_back(hierarchy(image, c, h, w, k, o));
    longest = std::max(longest, levels.back().size());
  }
  // Highest in the hierarchies first, rank by rank (the paper ranks by level).
  std::vector<Box4> out;
  std::set<Box4> seen;
  for (size_t rank = 0; rank < longest; ++rank) {
    for (const std::vector<Region>& regions : levels) {
      if (rank >= regions.size()) continue;
      const Region& r = regions[regions.size() - 1 - rank];
      const Box4 b{static_cast<float>(r.x0), static_cast<float>(r.y0), static_cast<float>(r.x1 + 1),
                   static_cast<float>(r.y1 + 1)};
      if (b[2] - b[0] < o.min_side || b[3] - b[1] < o.min_side || !seen.insert(b).second) continue;
      out.push_back(b);
      if (static_cast<int64_t>(out.size()) >= o.max_proposals) return out;
    }
  }
  return out;
}

}  // namespace ringmaster::models
