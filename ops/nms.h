// Non-maximum suppression, greedy as in Faster R-CNN and torchvision: boxes
// in decreasing score (ties: the lower index first); a box is kept unless it
// overlaps a kept one by IoU > iou_threshold. Boxes scoring at or below
// score_threshold never enter; at most max_output are kept (<= 0: no
// limit). batched_nms does the same within each class (boxes of two
// classes never suppress each other), then merges the classes' survivors by
// score, max_output applying to the merged list.
//   boxes (K, 4) f32 x1, y1, x2, y2; scores (K) f32; classes (K) i64 or i32;
//   any device (read on the host: the result is a short index list).
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

}  // namespace ringmaster::ops
