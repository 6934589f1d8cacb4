// Reference spatial cross-entropy: for every (n, pixel), log-sum-exp over C
// minus the labelled logit, averaged over all pixels, in double.
#include "ops/reference/spatial_cross_entropy.h"

#include <algorithm>
#include <cmath>

namespace ringmaster::ops::reference {

RefTensor spatial_cross_entropy(const RefTensor& logits, const RefTensor& labels) {
  const int64_t n = logits.shape[0], c = logits.shape[1];
  const int64_t s = logits.numel() / (n * c);
  double total = 0.0;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t j = 0; j < s; ++j) {
      auto at = [&](int64_t k) { return logits.v[static_cast<size_t>((b * c + k) * s + j)]; };
      double mx = at(0);
      for (int64_t k = 1; k < c; ++k) mx = std::max(mx, at(k));
      double z = 0.0;
      for (int64_t k = 0; k < c; ++k) z += std::exp(at(k) - mx);
      const auto y = static_cast<int64_t>(labels.v[static_cast<size_t>(b * s + j)]);
      total += std::log(z) + mx - at(y);
    }
  }
  return RefTensor({}, {total / static_cast<double>(n * s)});
}

}  // namespace ringmaster::ops::reference
