// What Faster R-CNN's two stages do to turn boxes into training targets
// (torchvision's Matcher and BalancedPositiveNegativeSampler): match each
// candidate (an anchor, a proposal) to the ground-truth box it overlaps
// most, label it foreground, background or ignored by IoU thresholds, and
// draw a fixed-size sample of each image's candidates at a set share of
// foreground. Host-side bookkeeping on plain vectors; no gradients.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "models/spec_reader.h"
#include "ops/tensor.h"

namespace ringmaster::models {

constexpr int64_t kBelowLow = -1;  // background: best IoU below `low`
constexpr int64_t kBetween = -2;   // ignored: best IoU in [low, high)

// iou: (candidates, truths) row-major IoU matrix. Each candidate's best
// truth (ties: the lower index) if its IoU >= high, else kBelowLow (IoU <
// low) or kBetween. allow_low_quality: a candidate whose IoU equals a
// truth's best IoU over all candidates (> 0) is matched to that truth even
// below `high` (so every truth has a match; torchvision's rule, candidates
// tied at a truth's best all kept). No truths: every candidate is kBelowLow.
std::vector<int64_t> match_boxes(const std::vector<float>& iou, int64_t candidates, int64_t truths,
                                 double high, double low, bool allow_low_quality);

// How candidates are labelled and drawn: IoU >= fg_iou_thresh foreground,
// < bg_iou_thresh background (between: never drawn); batch_size_per_image
// drawn per image, positive_fraction of them foreground at most. The box
// heads' defaults; the RPN sets its own.
struct BoxSampling {
  double fg_iou_thresh = 0.5, bg_iou_thresh = 0.5;
  int64_t batch_size_per_image = 512;
  double positive_fraction = 0.25;
};

// The spec fields <prefix>fg_iou_thresh, <prefix>bg_iou_thresh (at most
// fg), <prefix>batch_size_per_image, <prefix>positive_fraction (torchvision's
// names with prefix "rpn_" or "box_").
void read_box_sampling(SpecReader& r, const std::string& prefix, BoxSampling& s);

// One image's ground truth on the host: boxes (G, 4) x1, y1, x2, y2 row-major
// and their classes (G), >= 1 (0 is background).
struct ImageBoxes {
  std::vector<float> boxes;
  std::vector<int64_t> classes;
  int64_t size() const { return static_cast<int64_t>(classes.size()); }
};

// Each image's truth from a batch's (N, M, 4) f32 boxes and (N, M) i64
// classes (any device): the rows of class >= 0.
std::vector<ImageBoxes> image_boxes_of(const ops::Tensor& boxes, const ops::Tensor& classes);

struct BalancedSample {
  std::vector<int64_t> positive, negative;  // candidate indices, ascending
};

// At most batch_size candidates: up to batch_size x positive_fraction of the
// matched ones (>= 0), the rest from the kBelowLow ones, each set drawn
// uniformly without replacement by rng; kBetween never drawn.
BalancedSample sample_balanced(const std::vector<int64_t>& matches, int64_t batch_size,
                               double positive_fraction, std::mt19937_64& rng);

}  // namespace ringmaster::models
