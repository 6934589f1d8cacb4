// The box-regression loss both stages of Faster R-CNN use: smooth L1 with
// beta 1/9 between predicted deltas and the deltas that take each reference
// box (anchor or proposal) to its matched ground-truth box, summed over the
// boxes and divided by every drawn sample (positives and negatives), as
// torchvision's fastrcnn_loss and RPN do.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/box_coder.h"
#include "ops/tensor.h"

namespace ringmaster::models {

// deltas: any f32 tensor with autograd whose elements at flat positions `at`
// (4 per box, dx dy dw dh) are the predictions; boxes and references (K, 4)
// row-major on the host, K = at.size() / 4. With no box the loss is a zero
// that still reaches `deltas` (every parameter then has a gradient, as
// data-parallel buckets expect). divisor > 0.
ops::Tensor box_regression_loss(const ops::Tensor& deltas, const std::vector<int64_t>& at,
                                const std::vector<float>& boxes,
                                const std::vector<float>& references, const ops::BoxCoding& coding,
                                double divisor);

}  // namespace ringmaster::models
