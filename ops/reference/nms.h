// Reference greedy non-maximum suppression (see ops/nms.h), IoU in double,
// written from the definition: repeatedly take the best remaining box (ties:
// the lower index), drop every remaining box of its class that overlaps it
// by more than the threshold.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/nms.h"

namespace ringmaster::ops::reference {

double box_iou(const double* a, const double* b);

// boxes: K x 4 values; classes empty: one class.
std::vector<int64_t> nms(const std::vector<double>& boxes, const std::vector<double>& scores,
                         const std::vector<int64_t>& classes, const NmsOptions& o);

}  // namespace ringmaster::ops::reference
