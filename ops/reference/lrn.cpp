// Reference LRN: for each (n, c, h, w) the sum of squares over the clipped
// channel window, then x / (k + alpha/size * sum)^beta, in double.
#include "ops/reference/lrn.h"

#include <algorithm>
#include <cmath>

namespace ringmaster::ops::reference {

RefTensor local_response_norm(const RefTensor& x, const LrnParams& p) {
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  const int64_t half = (p.size - 1) / 2;
  RefTensor y(x.shape);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t k = 0; k < c; ++k) {
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < w; ++j) {
          double sum = 0.0;
          for (int64_t q = std::max<int64_t>(0, k - half); q <= std::min(c - 1, k + half); ++q) {
            sum += x.at(b, q, i, j) * x.at(b, q, i, j);
          }
          const double d = double(p.k) + double(p.alpha) / double(p.size) * sum;
          y.at(b, k, i, j) = x.at(b, k, i, j) / std::pow(d, double(p.beta));
        }
      }
    }
  }
  return y;
}

}  // namespace ringmaster::ops::reference
