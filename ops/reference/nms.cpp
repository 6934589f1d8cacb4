#include "ops/reference/nms.h"

#include <algorithm>

namespace ringmaster::ops::reference {

double box_iou(const double* a, const double* b) {
  const auto area = [](const double* x) {
    return std::max(x[2] - x[0], 0.0) * std::max(x[3] - x[1], 0.0);
  };
  const double iw = std::max(std::min(a[2], b[2]) - std::max(a[0], b[0]), 0.0);
  const double ih = std::max(std::min(a[3], b[3]) - std::max(a[1], b[1]), 0.0);
  const double uni = area(a) + area(b) - iw * ih;
  return uni > 0.0 ? iw * ih / uni : 0.0;
}

std::vector<int64_t> nms(const std::vector<double>& boxes, const std::vector<double>& scores,
                         const std::vector<int64_t>& classes, const NmsOptions& o) {
  const size_t k = scores.size();
  std::vector<bool> alive(k);
  for (size_t i = 0; i < k; ++i) alive[i] = scores[i] > o.score_threshold;
  std::vector<int64_t> kept;
  while (o.max_output <= 0 || static_cast<int64_t>(kept.size()) < o.max_output) {
    size_t best = k;
    for (size_t i = 0; i < k; ++i)
      if (alive[i] && (best == k || scores[i] > scores[best])) best = i;
    if (best == k) break;
    kept.push_back(static_cast<int64_t>(best));
    alive[best] = false;
    for (size_t i = 0; i < k; ++i)
      if (alive[i] && (classes.empty() || classes[i] == classes[best]) &&
          box_iou(&boxes[4 * i], &boxes[4 * best]) > o.iou_threshold)
        alive[i] = false;
  }
  return kept;
}

}  // namespace ringmaster::ops::reference
