#include "ops/reference/sequence_cross_entropy.h"

#include <algorithm>
#include <cmath>

namespace ringmaster::ops::reference {

RefTensor sequence_cross_entropy(const RefTensor& logits, const std::vector<int64_t>& targets,
                                 int64_t pad_index) {
  const int64_t v = logits.shape.back();
  double total = 0.0;
  int64_t counted = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i] == pad_index) continue;
    const double* row = logits.v.data() + i * static_cast<size_t>(v);
    const double mx = *std::max_element(row, row + v);
    double sum = 0.0;
    for (int64_t j = 0; j < v; ++j) sum += std::exp(row[j] - mx);
    total += std::log(sum) + mx - row[targets[i]];
    ++counted;
  }
  return RefTensor({}, {total / static_cast<double>(counted)});
}

}  // namespace ringmaster::ops::reference
