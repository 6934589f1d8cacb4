// box_regression_loss (see box_regression.h).
#include "models/box_regression.h"

#include "models/detection_tensors.h"
#include "ops/check.h"
#include "ops/smooth_l1.h"

namespace ringmaster::models {

ops::Tensor box_regression_loss(const ops::Tensor& deltas, const std::vector<int64_t>& at,
                                const std::vector<float>& boxes,
                                const std::vector<float>& references, const ops::BoxCoding& coding,
                                double divisor) {
  RM_CHECK(at.size() % 4 == 0 && boxes.size() == at.size() && references.size() == at.size(),
           "box_regression_loss: ", at.size(), " positions for ", boxes.size(), " and ",
           references.size(), " coordinates");
  const auto k = static_cast<int64_t>(at.size() / 4);
  constexpr double kBeta = 1.0 / 9.0;
  if (k == 0) {
    const ops::Tensor one = pick_elements(deltas, {0});
    return ops::smooth_l1_loss(one, one.detach().clone(), kBeta, ops::LossReduction::kSum, divisor);
  }
  const ops::Tensor target = ops::encode_boxes(ops::Tensor::from_vector(boxes, {k, 4}),
                                               ops::Tensor::from_vector(references, {k, 4}), coding)
                                 .reshape({4 * k, 1})
                                 .to(deltas.device());
  return ops::smooth_l1_loss(pick_elements(deltas, at), target, kBeta, ops::LossReduction::kSum,
                             divisor);
}

}  // namespace ringmaster::models
