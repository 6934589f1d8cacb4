// Non-maximum suppression, greedy as in Faster R-CNN and torchvision: boxes
// in decreasing score (ties: the lower index first); a box is kept unless it
// overlaps a kept one by IoU > iou_threshold. Boxes scoring at or below
// score_threshold never enter; at most max_output are kept (<= 0: no
// limit). batched_nms does the same within each class (boxes of two
// classes never suppress each other), then merges the classes' survivors by
// score, max_output applying to the merged list.
//   boxes (K, 4) f32 x1, y1, x2, y2; scores (K) f32; classes (K) i64 or i32;
//   any device. On the CPU each candidate is checked against the boxes kept
//   so far. Boxes on a GPU stay there: its kernel fills the bit matrix of
//   which candidate overlaps which (K^2 / 2 IoUs, in parallel), and only the
//   scores and that matrix come to the host, where one pass over it in
//   score order keeps the same boxes (nms_by_overlap_mask, any device).
// Returns the kept boxes' indices, best score first. A score that is NaN
// never enters; a box with NaN coordinates overlaps nothing.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops {

struct NmsOptions {
  double iou_threshold = 0.5;
  double score_threshold = -std::numeric_limits<double>::infinity();
  int64_t max_output = 0;
};

std::vector<int64_t> nms(const Tensor& boxes, const Tensor& scores, const NmsOptions& o);
std::vector<int64_t> batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes,
                                 const NmsOptions& o);

// The overlap-matrix path that boxes on a GPU take, on any device (classes
// undefined: nms, else batched_nms); the same indices as the two above.
std::vector<int64_t> nms_by_overlap_mask(const Tensor& boxes, const Tensor& scores,
                                         const Tensor& classes, const NmsOptions& o);

struct NmsKernels {
  // mask (M, W) i64 with W = ceil(M / 64), M = order's length: bit c % 64 of
  // word (r, c / 64) is set when c > r, candidates r and c (rows order[r]
  // and order[c] of boxes) are of one class (classes (K) i64, or undefined:
  // all one) and their IoU is above iou_threshold.
  void (*overlap_mask)(const Tensor& boxes, const Tensor& order, const Tensor& classes,
                       double iou_threshold, const Tensor& mask);
};

}  // namespace ringmaster::ops
