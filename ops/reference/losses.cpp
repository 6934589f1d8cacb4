#include "ops/reference/losses.h"

#include <cmath>

namespace ringmaster::ops::reference {
namespace {

RefTensor folded(double sum, int64_t n, LossReduction r) {
  return RefTensor({}, {r == LossReduction::kMean ? sum / static_cast<double>(n) : sum});
}

}  // namespace

RefTensor smooth_l1_loss(const RefTensor& x, const RefTensor& target, double beta,
                         LossReduction reduction) {
  double sum = 0.0;
  for (size_t i = 0; i < x.v.size(); ++i) {
    const double d = x.v[i] - target.v[i];
    sum += std::abs(d) < beta ? 0.5 * d * d / beta : std::abs(d) - 0.5 * beta;
  }
  return folded(sum, x.numel(), reduction);
}

RefTensor bce_with_logits(const RefTensor& x, const RefTensor& targets, LossReduction reduction) {
  double sum = 0.0;
  for (size_t i = 0; i < x.v.size(); ++i) {
    const double p = 1.0 / (1.0 + std::exp(-x.v[i])), t = targets.v[i];
    sum -= t * std::log(p) + (1.0 - t) * std::log(1.0 - p);
  }
  return folded(sum, x.numel(), reduction);
}

}  // namespace ringmaster::ops::reference
