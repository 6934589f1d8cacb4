// Reference batch normalisation: two passes per channel (mean, then biased
// variance) in training, or the running statistics in eval.
#include "ops/reference/batch_norm2d.h"

#include <cmath>

namespace ringmaster::ops::reference {

RefTensor batch_norm2d(const RefTensor& x, const RefTensor& gamma, const RefTensor& beta,
                       const RefTensor& running_mean, const RefTensor& running_var,
                       const BatchNormParams& p, RefTensor* new_running_mean,
                       RefTensor* new_running_var) {
  const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  const double count = static_cast<double>(n * h * w);
  RefTensor y(x.shape);
  if (new_running_mean) *new_running_mean = running_mean;
  if (new_running_var) *new_running_var = running_var;
  for (int64_t ch = 0; ch < c; ++ch) {
    const size_t k = static_cast<size_t>(ch);
    double mean = 0.0, var = 0.0;
    if (p.training) {
      for (int64_t i = 0; i < n; ++i)
        for (int64_t r = 0; r < h; ++r)
          for (int64_t s = 0; s < w; ++s) mean += x.at(i, ch, r, s);
      mean /= count;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t r = 0; r < h; ++r)
          for (int64_t s = 0; s < w; ++s)
            var += (x.at(i, ch, r, s) - mean) * (x.at(i, ch, r, s) - mean);
      var /= count;
      const double m = p.momentum;
      if (new_running_mean && !running_mean.v.empty())
        new_running_mean->v[k] = (1.0 - m) * running_mean.v[k] + m * mean;
      if (new_running_var && !running_var.v.empty())
        new_running_var->v[k] = (1.0 - m) * running_var.v[k] + m * var * count / (count - 1.0);
    } else {
      mean = running_mean.v[k];
      var = running_var.v[k];
    }
    const double inv = 1.0 / std::sqrt(var + static_cast<double>(p.eps));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t s = 0; s < w; ++s)
          y.at(i, ch, r, s) = gamma.v[k] * (x.at(i, ch, r, s) - mean) * inv + beta.v[k];
  }
  return y;
}

}  // namespace ringmaster::ops::reference
