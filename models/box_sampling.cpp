// match_boxes and sample_balanced (see box_sampling.h).
#include "models/box_sampling.h"

#include <algorithm>

namespace ringmaster::models {
namespace {

// k indices of `from` drawn without replacement (a partial Fisher-Yates with
// our own draws, the same on every standard library), sorted.
std::vector<int64_t> draw(std::vector<int64_t> from, int64_t k, std::mt19937_64& rng) {
  k = std::min<int64_t>(k, static_cast<int64_t>(from.size()));
  for (int64_t i = 0; i < k; ++i) {
    const auto left = static_cast<uint64_t>(static_cast<int64_t>(from.size()) - i);
    const auto j = i + static_cast<int64_t>(rng() % left);
    std::swap(from[static_cast<size_t>(i)], from[static_cast<size_t>(j)]);
  }
  from.resize(static_cast<size_t>(k));
  std::sort(from.begin(), from.end());
  return from;
}

}  // namespace

std::vector<int64_t> match_boxes(const std::vector<float>& iou, int64_t candidates, int64_t truths,
                                 double high, double low, bool allow_low_quality) {
  std::vector<int64_t> out(static_cast<size_t>(candidates), kBelowLow);
  if (truths == 0) return out;
  std::vector<float> best_of_truth(static_cast<size_t>(truths), 0.0f);
  for (int64_t c = 0; c < candidates; ++c) {
    const float* row = iou.data() + c * truths;
    int64_t best = 0;
    for (int64_t t = 0; t < truths; ++t) {
      if (row[t] > row[best]) best = t;
      best_of_truth[static_cast<size_t>(t)] =
          std::max(best_of_truth[static_cast<size_t>(t)], row[t]);
    }
    const double v = row[best];
    out[static_cast<size_t>(c)] = v >= high ? best : v < low ? kBelowLow : kBetween;
  }
  if (!allow_low_quality) return out;
  for (int64_t c = 0; c < candidates; ++c) {
    const float* row = iou.data() + c * truths;
    for (int64_t t = 0; t < truths; ++t) {
      const float b = best_of_truth[static_cast<size_t>(t)];
      if (b > 0.0f && row[t] == b) {
        // torchvision keeps the candidate's own best truth here.
        int64_t best = 0;
        for (int64_t u = 1; u < truths; ++u)
          if (row[u] > row[best]) best = u;
        out[static_cast<size_t>(c)] = best;
        break;
      }
    }
  }
  return out;
}

BalancedSample sample_balanced(const std::vector<int64_t>& matches, int64_t batch_size,
                               double positive_fraction, std::mt19937_64& rng) {
  std::vector<int64_t> pos, neg;
  for (size_t i = 0; i < matches.size(); ++i) {
    if (matches[i] >= 0) pos.push_back(static_cast<int64_t>(i));
    if (matches[i] == kBelowLow) neg.push_back(static_cast<int64_t>(i));
  }
  BalancedSample s;
  s.positive = draw(std::move(pos),
                    static_cast<int64_t>(static_cast<double>(batch_size) * positive_fraction), rng);
  s.negative = draw(std::move(neg), batch_size - static_cast<int64_t>(s.positive.size()), rng);
  return s;
}

std::vector<ImageBoxes> image_boxes_of(const ops::Tensor& boxes, const ops::Tensor& classes) {
  const ops::Tensor b = boxes.to(ops::Device::cpu()).to_plain();
  const ops::Tensor c = classes.to(ops::Device::cpu()).to_plain();
  const int64_t n = b.dim(0), m = b.dim(1);
  std::vector<ImageBoxes> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    ImageBoxes& t = out[static_cast<size_t>(i)];
    for (int64_t j = 0; j < m; ++j) {
      const int64_t k = c.data<int64_t>()[i * m + j];
      if (k < 0) continue;
      const float* box = b.data<float>() + (i * m + j) * 4;
      t.boxes.insert(t.boxes.end(), box, box + 4);
      t.classes.push_back(k);
    }
  }
  return out;
}

void read_box_sampling(SpecReader& r, const std::string& prefix, BoxSampling& s) {
  r.number(prefix + "fg_iou_thresh", s.fg_iou_thresh, 0.0, 1.0);
  r.number(prefix + "bg_iou_thresh", s.bg_iou_thresh, 0.0, 1.0);
  r.integer(prefix + "batch_size_per_image", s.batch_size_per_image, 1, 1000000);
  r.number(prefix + "positive_fraction", s.positive_fraction, 0.0, 1.0);
  if (s.bg_iou_thresh > s.fg_iou_thresh)
    r.problem(prefix + "bg_iou_thresh", "must be <= " + prefix + "fg_iou_thresh");
}

}  // namespace ringmaster::models
