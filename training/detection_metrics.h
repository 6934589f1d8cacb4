// Object-detection metrics: average precision (AP) per class and its mean
// over classes, at IoU 0.5 (PASCAL VOC's mAP) and averaged over the ten IoU
// thresholds 0.50:0.05:0.95 (COCO's mAP). Both use VOC2010+'s all-point
// interpolation, not COCO's 101 recall samples. Not here: crowd or
// "difficult" boxes, area ranges, a cap on detections per image.
//
// Boxes are (x1, y1, x2, y2) in continuous coordinates: area (x2 - x1) *
// (y2 - y1), no "+1" (as torchvision and COCO, not old VOC); a box of no
// area (x2 <= x1 or y2 <= y1) has IoU 0 with every box, itself included.
//
// Matching, per image, class and IoU threshold (as COCO's): the image's
// detections by descending score (ties: input order) each take the unmatched
// ground-truth box of their own class with the highest IoU (ties: the first
// in input order) if that IoU >= the threshold, and are true positives; the
// others (no box close enough, a box already taken: a duplicate, another
// class's box) are false positives.
//
// AP of a class at a threshold: its detections over all images ranked by
// score, ties by image and then input order (a stable sort), each one step
// of the precision-recall curve; precision made non-increasing from the
// right (the envelope); AP = sum over steps of (recall_i - recall_{i-1}) *
// envelope_i. A class with no ground truth in the whole set is absent: AP -1,
// left out of every mean, its detections ignored. A class with ground truth
// and no detections has AP 0 and counts. A mean with no class present is -1.
//
// Pure functions. A label outside [0, num_classes), a non-finite score or
// coordinate (or, for DetectionTally, a score outside [0, 1]) is a caller
// bug and aborts with the values (RM_CHECK).
#pragma once

#include <array>
#include <cstddef>
#include <vector>

namespace ringmaster::training {

struct Box {
  float x1 = 0, y1 = 0, x2 = 0, y2 = 0;
};
struct Detection {
  Box box;
  int label = 0;       // class id in [0, num_classes)
  float score = 0.0f;  // confidence; DetectionTally needs it in [0, 1]
};
struct GroundTruth {
  Box box;
  int label = 0;
};

// The IoU thresholds, 0.50, 0.55, ..., 0.95, written as literals; a match
// needs IoU >= threshold.
constexpr int kIouThresholds = 10;
constexpr std::array<double, kIouThresholds> kIouThreshold = {0.50, 0.55, 0.60, 0.65, 0.70,
                                                              0.75, 0.80, 0.85, 0.90, 0.95};

// Intersection over union, computed in double from the float coordinates.
double box_iou(const Box& a, const Box& b);

// hits[j][t]: whether detections[j] (input order) is a true positive at
// threshold kIouThreshold[t], by the matching rule above.
using ThresholdHits = std::array<bool, kIouThresholds>;
std::vector<ThresholdHits> match_image(const std::vector<Detection>& detections,
                                       const std::vector<GroundTruth>& truth, int num_classes);

struct DetectionScores {
  double map50 = -1.0;  // VOC's mAP: the mean of class_ap50 over present classes
  double map = -1.0;    // COCO's mAP: the mean of class_ap over present classes
  // map_at[t]: the mean AP over present classes at kIouThreshold[t] (COCO's
  // AP50 is map_at[0], AP75 map_at[5]); map is the mean of these.
  std::array<double, kIouThresholds> map_at = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
  std::vector<double> class_ap50;  // (num_classes): AP at 0.5, -1 where absent
  std::vector<double> class_ap;    // (num_classes): AP averaged over thresholds, -1 where absent
};

// Exact: every detection its own step. per_image[i] and truth[i] are image
// i's detections and ground truth (the sizes must agree).
DetectionScores evaluate_detections(const std::vector<std::vector<Detection>>& per_image,
                                    const std::vector<std::vector<GroundTruth>>& truth,
                                    int num_classes);

// Sums that add over batches and data-parallel ranks (Tally::task), since AP
// itself does not: images are matched exactly (match_image), then each
// detection's score is binned, bin k holding scores in [k / bins, (k + 1) /
// bins) (a score of 1 in the last). AP is then evaluate_detections' with one
// step per non-empty bin, highest first: detections within a bin count as
// tied, one step. That equals the exact AP whenever no bin holds both a true
// and a false positive of one class at one threshold (so when scores differ
// by more than a bin), and is otherwise never above it (merging steps can
// only lower the envelope).
//
// Flat layout, (num_classes, 1 + bins * (1 + kIouThresholds)) doubles: per
// class its ground-truth count, its detections per bin (bins), then its true
// positives per threshold and bin (kIouThresholds, bins). Ranks and batches
// combine by adding flat vectors element by element.
//
// Default bins: 512, a bin width of about 0.002 and, with 11 classes, 62k
// doubles (0.5 MB) to sum once per evaluation; a power of two so that bin
// edges are exact in float and a float score's bin is exact.
// Not thread-safe: one thread per object; nothing blocks.
class DetectionTally {
 public:
  static constexpr int kDefaultScoreBins = 512;

  explicit DetectionTally(int num_classes, int score_bins = kDefaultScoreBins);
  // Sums read back (e.g. summed over ranks); flat.size() must be flat_size().
  DetectionTally(int num_classes, int score_bins, std::vector<double> flat);

  static size_t flat_size(int num_classes, int score_bins);
  size_t flat_size() const { return sums_.size(); }
  int num_classes() const { return classes_; }
  int score_bins() const { return bins_; }

  void add_image(const std::vector<Detection>& detections, const std::vector<GroundTruth>& truth);
  // The sums, flat_size() of them in the layout above.
  const std::vector<double>& flat() const { return sums_; }
  // Appends the sums to `out` (concatenation with other sums).
  void append_to(std::vector<double>& out) const;
  // Adds the sums element by element into sums[at, at + flat_size()).
  void add_into(std::vector<double>& sums, size_t at = 0) const;

  DetectionScores scores() const;

 private:
  size_t block() const;  // doubles per class
  size_t detections_at(int c, int bin) const;
  size_t hits_at(int c, int t, int bin) const;

  int classes_, bins_;
  std::vector<double> sums_;
};

}  // namespace ringmaster::training
