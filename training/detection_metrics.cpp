// Detection AP, exact and binned (see detection_metrics.h).
#include "training/detection_metrics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "ops/check.h"

namespace ringmaster::training {
namespace {

// A point of the precision-recall curve: cumulative true positives and
// detections at this rank.
struct PrStep {
  double hits = 0.0, detections = 0.0;
};

// All-point AP of steps in rank order against `truth` ground-truth boxes
// (truth > 0): sum of recall increments times the envelope of precision,
// walked from the lowest rank up.
double average_precision(const std::vector<PrStep>& steps, double truth) {
  double ap = 0.0, envelope = 0.0;
  for (size_t i = steps.size(); i-- > 0;) {
    envelope = std::max(envelope, steps[i].hits / steps[i].detections);
    const double before = i == 0 ? 0.0 : steps[i - 1].hits;
    ap += (steps[i].hits - before) / truth * envelope;
  }
  return ap;
}

bool finite_box(const Box& b) {
  return std::isfinite(b.x1) && std::isfinite(b.y1) && std::isfinite(b.x2) && std::isfinite(b.y2);
}

void check_detection(const Detection& d, int num_classes) {
  RM_CHECK(d.label >= 0 && d.label < num_classes, "detection label ", d.label, " outside [0, ",
           num_classes, ")");
  RM_CHECK(std::isfinite(d.score), "detection score ", d.score, " of class ", d.label);
  RM_CHECK(finite_box(d.box), "detection box (", d.box.x1, ", ", d.box.y1, ", ", d.box.x2, ", ",
           d.box.y2, ") of class ", d.label);
}

void check_truth(const GroundTruth& g, int num_classes) {
  RM_CHECK(g.label >= 0 && g.label < num_classes, "ground-truth label ", g.label, " outside [0, ",
           num_classes, ")");
  RM_CHECK(finite_box(g.box), "ground-truth box (", g.box.x1, ", ", g.box.y1, ", ", g.box.x2, ", ",
           g.box.y2, ") of class ", g.label);
}

// Indices of `detections` by descending score, ties in input order.
std::vector<size_t> by_score(const std::vector<Detection>& detections) {
  std::vector<size_t> order(detections.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return detections[a].score > detections[b].score; });
  return order;
}

// The unmatched box of detection d's class with the highest IoU >= threshold
// (ties: the first); -1 for none. iou: (detections, truth) row-major.
int best_box(size_t d, const std::vector<double>& iou, const std::vector<GroundTruth>& truth,
             const std::vector<bool>& taken, int label, double threshold) {
  int best = -1;
  double best_iou = -1.0;
  for (size_t g = 0; g < truth.size(); ++g) {
    const double v = iou[d * truth.size() + g];
    if (truth[g].label != label || taken[g] || v < threshold || v <= best_iou) continue;
    best = static_cast<int>(g);
    best_iou = v;
  }
  return best;
}

// Per class and threshold AP table (num_classes, kIouThresholds), -1 for an
// absent class, into the scores the header describes.
DetectionScores summarise(const std::vector<std::array<double, kIouThresholds>>& ap) {
  DetectionScores s;
  int present = 0;
  std::array<double, kIouThresholds> sum_at{};
  for (const auto& row : ap) {
    const bool absent = row[0] < 0.0;
    const double mean = std::accumulate(row.begin(), row.end(), 0.0) / kIouThresholds;
    s.class_ap50.push_back(absent ? -1.0 : row[0]);
    s.class_ap.push_back(absent ? -1.0 : mean);
    if (absent) continue;
    ++present;
    for (int t = 0; t < kIouThresholds; ++t) sum_at[t] += row[t];
  }
  if (present == 0) return s;
  for (int t = 0; t < kIouThresholds; ++t) s.map_at[t] = sum_at[t] / present;
  s.map50 = s.map_at[0];
  s.map = std::accumulate(s.map_at.begin(), s.map_at.end(), 0.0) / kIouThresholds;
  return s;
}

// One class's detections for the exact computation: score and hits.
struct Ranked {
  float score;
  ThresholdHits hits;
};

// The AP row of one class from its detections in rank order.
std::array<double, kIouThresholds> class_row(const std::vector<Ranked>& ranked, double truth) {
  std::array<double, kIouThresholds> row;
  row.fill(-1.0);
  if (truth == 0.0) return row;
  for (int t = 0; t < kIouThresholds; ++t) {
    std::vector<PrStep> steps;
    PrStep at;
    for (const Ranked& r : ranked) {
      at.hits += r.hits[t];
      ++at.detections;
      steps.push_back(at);
    }
    row[t] = average_precision(steps, truth);
  }
  return row;
}

}  // namespace

double box_iou(const Box& a, const Box& b) {
  const double aw = double{a.x2} - a.x1, ah = double{a.y2} - a.y1;
  const double bw = double{b.x2} - b.x1, bh = double{b.y2} - b.y1;
  if (!(aw > 0.0 && ah > 0.0 && bw > 0.0 && bh > 0.0)) return 0.0;  // degenerate
  const double iw = std::min<double>(a.x2, b.x2) - std::max<double>(a.x1, b.x1);
  const double ih = std::min<double>(a.y2, b.y2) - std::max<double>(a.y1, b.y1);
  if (iw <= 0.0 || ih <= 0.0) return 0.0;
  const double inter = iw * ih;
  return inter / (aw * ah + bw * bh - inter);
}

std::vector<ThresholdHits> match_image(const std::vector<Detection>& detections,
                                       const std::vector<GroundTruth>& truth, int num_classes) {
  for (const Detection& d : detections) check_detection(d, num_classes);
  for (const GroundTruth& g : truth) check_truth(g, num_classes);
  std::vector<double> iou(detections.size() * truth.size());  // (detections, truth)
  for (size_t d = 0; d < detections.size(); ++d)
    for (size_t g = 0; g < truth.size(); ++g)
      iou[d * truth.size() + g] = box_iou(detections[d].box, truth[g].box);
  const std::vector<size_t> order = by_score(detections);
  std::vector<ThresholdHits> hits(detections.size(), ThresholdHits{});
  for (int t = 0; t < kIouThresholds; ++t) {
    std::vector<bool> taken(truth.size(), false);
    for (const size_t d : order) {
      const int g = best_box(d, iou, truth, taken, detections[d].label, kIouThreshold[t]);
      if (g < 0) continue;
      taken[static_cast<size_t>(g)] = true;
      hits[d][t] = true;
    }
  }
  return hits;
}

DetectionScores evaluate_detections(const std::vector<std::vector<Detection>>& per_image,
                                    const std::vector<std::vector<GroundTruth>>& truth,
                                    int num_classes) {
  RM_CHECK(num_classes > 0, "detection metrics need classes, got ", num_classes);
  RM_CHECK(per_image.size() == truth.size(), "detection metrics: ", per_image.size(),
           " images of detections for ", truth.size(), " of ground truth");
  const auto classes = static_cast<size_t>(num_classes);
  std::vector<std::vector<Ranked>> ranked(classes);  // per class, image then input order
  std::vector<double> truth_count(classes, 0.0);
  for (size_t i = 0; i < per_image.size(); ++i) {
    const std::vector<ThresholdHits> hits = match_image(per_image[i], truth[i], num_classes);
    for (size_t j = 0; j < hits.size(); ++j)
      ranked[static_cast<size_t>(per_image[i][j].label)].push_back(
          {per_image[i][j].score, hits[j]});
    for (const GroundTruth& g : truth[i]) ++truth_count[static_cast<size_t>(g.label)];
  }
  std::vector<std::array<double, kIouThresholds>> ap;
  for (size_t c = 0; c < classes; ++c) {
    std::stable_sort(ranked[c].begin(), ranked[c].end(),
                     [](const Ranked& a, const Ranked& b) { return a.score > b.score; });
    ap.push_back(class_row(ranked[c], truth_count[c]));
  }
  return summarise(ap);
}

DetectionTally::DetectionTally(int num_classes, int score_bins)
    : DetectionTally(num_classes, score_bins,
                     std::vector<double>(flat_size(num_classes, score_bins), 0.0)) {}

DetectionTally::DetectionTally(int num_classes, int score_bins, std::vector<double> flat)
    : classes_(num_classes), bins_(score_bins), sums_(std::move(flat)) {
  RM_CHECK(sums_.size() == flat_size(num_classes, score_bins), "detection tally of ", num_classes,
           " classes and ", score_bins, " bins needs ", flat_size(num_classes, score_bins),
           " sums, got ", sums_.size());
}

size_t DetectionTally::flat_size(int num_classes, int score_bins) {
  RM_CHECK(num_classes > 0 && score_bins > 0, "detection tally needs classes and bins, got ",
           num_classes, " and ", score_bins);
  const auto bins = static_cast<size_t>(score_bins);
  return static_cast<size_t>(num_classes) * (1 + bins * (1 + kIouThresholds));
}

size_t DetectionTally::block() const {
  return 1 + static_cast<size_t>(bins_) * (1 + kIouThresholds);
}

size_t DetectionTally::detections_at(int c, int bin) const {
  return static_cast<size_t>(c) * block() + 1 + static_cast<size_t>(bin);
}

size_t DetectionTally::hits_at(int c, int t, int bin) const {
  return static_cast<size_t>(c) * block() + 1 + static_cast<size_t>((1 + t) * bins_ + bin);
}

void DetectionTally::add_image(const std::vector<Detection>& detections,
                               const std::vector<GroundTruth>& truth) {
  const std::vector<ThresholdHits> hits = match_image(detections, truth, classes_);
  for (const GroundTruth& g : truth) ++sums_[static_cast<size_t>(g.label) * block()];
  for (size_t j = 0; j < detections.size(); ++j) {
    const Detection& d = detections[j];
    RM_CHECK(d.score >= 0.0f && d.score <= 1.0f, "detection tally needs scores in [0, 1], got ",
             d.score, " of class ", d.label);
    const int bin = std::min(bins_ - 1, static_cast<int>(double{d.score} * bins_));
    ++sums_[detections_at(d.label, bin)];
    for (int t = 0; t < kIouThresholds; ++t)
      if (hits[j][t]) ++sums_[hits_at(d.label, t, bin)];
  }
}

void DetectionTally::append_to(std::vector<double>& out) const {
  out.insert(out.end(), sums_.begin(), sums_.end());
}

void DetectionTally::add_into(std::vector<double>& sums, size_t at) const {
  RM_CHECK(at <= sums.size() && sums.size() - at >= sums_.size(), "detection tally of ",
           sums_.size(), " sums added at ", at, " into ", sums.size());
  for (size_t i = 0; i < sums_.size(); ++i) sums[at + i] += sums_[i];
}

DetectionScores DetectionTally::scores() const {
  std::vector<std::array<double, kIouThresholds>> ap;
  for (int c = 0; c < classes_; ++c) {
    std::array<double, kIouThresholds> row;
    row.fill(-1.0);
    const double truth = sums_[static_cast<size_t>(c) * block()];
    for (int t = 0; t < kIouThresholds && truth > 0.0; ++t) {
      std::vector<PrStep> steps;  // one per non-empty bin, highest score first
      PrStep at;
      for (int b = bins_ - 1; b >= 0; --b) {
        if (sums_[detections_at(c, b)] == 0.0) continue;
        at.hits += sums_[hits_at(c, t, b)];
        at.detections += sums_[detections_at(c, b)];
        steps.push_back(at);
      }
      row[t] = average_precision(steps, truth);
    }
    ap.push_back(row);
  }
  return summarise(ap);
}

}  // namespace ringmaster::training
