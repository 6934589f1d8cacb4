// Reference linear: one dot product in double per output element, x read as
// (N, in) in row-major order (which is the flatten from dim 1).
#include "ops/reference/linear.h"

namespace ringmaster::ops::reference {

RefTensor linear(const RefTensor& x, const RefTensor& w, const RefTensor& b, bool relu) {
  const int64_t n = x.shape[0], out = w.shape[0], in = w.shape[1];
  RefTensor y({n, out});
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t o = 0; o < out; ++o) {
      double s = b.v.empty() ? 0.0 : b.v[static_cast<size_t>(o)];
      for (int64_t k = 0; k < in; ++k)
        s += x.v[static_cast<size_t>(i * in + k)] * w.v[static_cast<size_t>(o * in + k)];
      y.v[static_cast<size_t>(i * out + o)] = relu && s < 0.0 ? 0.0 : s;
    }
  }
  return y;
}

}  // namespace ringmaster::ops::reference
