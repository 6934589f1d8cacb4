// What the box stages of R-CNN and Faster R-CNN share (torchvision's
// RoIHeads pieces): drawing an image's RoIs (its proposals and its true
// boxes) matched to the truth; the losses of scored RoIs (cross-entropy of
// the classes, smooth L1 of the true class's deltas summed over the drawn
// count); and detections from scored RoIs (per class above background:
// boxes decoded and clipped, scores over a threshold, boxes under 1e-2 a
// side dropped, NMS per class, the best kept per image).
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "models/box_sampling.h"
#include "models/spec_reader.h"
#include "ops/box_coder.h"
#include "ops/tensor.h"

namespace ringmaster::models {

// RoIs of a batch with what training scores them against.
struct LabelledRois {
  std::vector<float> boxes;     // (R, 4)
  std::vector<int64_t> image;   // (R)
  std::vector<int64_t> labels;  // (R) class, 0 background
  std::vector<float> matched;   // (R, 4): the matched true box (0s for background)
  int64_t size() const { return static_cast<int64_t>(image.size()); }
  // Only the rows `order` (in that order).
  LabelledRois rows(const std::vector<int64_t>& order) const;
};

// Per image its proposals (P, 4) and true boxes matched (IoU >= fg: the
// box's class; < bg: background; between: never drawn) and drawn.
LabelledRois sample_rois(const std::vector<std::vector<float>>& proposals,
                         const std::vector<ImageBoxes>& targets, const BoxSampling& s,
                         std::mt19937_64& rng);

// (class loss, box loss) of scores (R, K) and deltas (R, 4K) of r's rows.
std::pair<ops::Tensor, ops::Tensor> roi_losses(const ops::Tensor& scores, const ops::Tensor& deltas,
                                               const LabelledRois& r, const ops::BoxCoding& coding);

struct DetectionLimits {
  double score_thresh = 0.05, nms_thresh = 0.5;
  int64_t per_image = 100;
};

// The spec fields of both detectors (torchvision's names): box_score_thresh,
// box_nms_thresh, box_detections_per_img (the box_* sampling fields:
// read_box_sampling).
void read_detection_limits(SpecReader& r, DetectionLimits& d);

// (n, per_image, 6) f32 on the cpu: x1, y1, x2, y2, score, class, best
// first; rows past an image's detections 0 with class -1. scores (R, K)
// logits and deltas (R, 4K) of rois (R, 4) on images `image` (R).
ops::Tensor detections_from(const ops::Tensor& scores, const ops::Tensor& deltas,
                            const std::vector<float>& rois, const std::vector<int64_t>& image,
                            int64_t n, const ops::BoxCoding& coding, const DetectionLimits& d,
                            int64_t image_h, int64_t image_w);

}  // namespace ringmaster::models
