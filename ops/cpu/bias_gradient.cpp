// bias_gradient (see bias_gradient.h): one channel per OpenMP iteration.
#include "ops/cpu/bias_gradient.h"

#include "ops/check.h"

namespace ringmaster::ops::cpu {

Tensor bias_gradient(const Tensor& dy) {
  RM_CHECK(dy.ndim() == 4 && dy.dtype() == DType::f32,
           "bias_gradient: dy must be (N, C, H, W) f32, got ", to_string(dy));
  const Tensor g = dy.to_plain();
  const int64_t n = g.dim(0), c = g.dim(1), hw = g.dim(2) * g.dim(3);
  Tensor db = Tensor::empty({c});
  const float* src = g.data<float>();
  float* out = db.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < c; ++ch) {
    double s = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const float* p = src + (i * c + ch) * hw;
      for (int64_t j = 0; j < hw; ++j) s += p[j];
    }
    out[ch] = static_cast<float>(s);
  }
  return db;
}

}  // namespace ringmaster::ops::cpu
