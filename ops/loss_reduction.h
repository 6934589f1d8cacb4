// How an element-wise loss folds its terms into one scalar: their mean, or
// their sum (Faster R-CNN sums its box loss, then divides by the sampled
// count itself).
#pragma once

namespace ringmaster::ops {

enum class LossReduction { kMean, kSum };

}  // namespace ringmaster::ops
