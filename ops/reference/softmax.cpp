// Reference softmax: x viewed as (outer, axis, inner), max-subtracted exp and
// sum per (outer, inner) line.
#include "ops/reference/softmax.h"

#include <cmath>

namespace ringmaster::ops::reference {

RefTensor softmax(const RefTensor& x, int axis) {
  const int nd = static_cast<int>(x.shape.size());
  const int a = axis < 0 ? axis + nd : axis;
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= x.shape[i];
  for (int i = a + 1; i < nd; ++i) inner *= x.shape[i];
  const int64_t len = x.shape[a];
  RefTensor y(x.shape);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      auto at = [&](int64_t k) { return static_cast<size_t>((o * len + k) * inner + in); };
      double mx = x.v[at(0)];
      for (int64_t k = 1; k < len; ++k) mx = std::max(mx, x.v[at(k)]);
      double sum = 0.0;
      for (int64_t k = 0; k < len; ++k) sum += std::exp(x.v[at(k)] - mx);
      for (int64_t k = 0; k < len; ++k) y.v[at(k)] = std::exp(x.v[at(k)] - mx) / sum;
    }
  }
  return y;
}

RefTensor softmax_cross_entropy(const RefTensor& logits, const std::vector<int64_t>& labels) {
  const RefTensor p = softmax(logits, 1);
  const int64_t n = logits.shape[0], c = logits.shape[1];
  double total = 0.0;
  for (int64_t i = 0; i < n; ++i)
    total -= std::log(p.v[static_cast<size_t>(i * c + labels[static_cast<size_t>(i)])]);
  return RefTensor(Shape{}, {total / static_cast<double>(n)});
}

}  // namespace ringmaster::ops::reference
