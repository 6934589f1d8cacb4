// Optimizer update CPU kernels: one fused OpenMP loop per parameter over raw
// f32 buffers (the loops training/optimizer.cpp had, unchanged, so the numbers
// are bit-identical); small parameters are updated by one thread.
#include <cmath>
#include <cstring>

#include "ops/kernel_registry.h"
#include "ops/optimizer_update.h"

namespace ringmaster::ops {
namespace {

// Below this many elements a parameter is updated by one thread.
constexpr int64_t kParallelMin = 1 << 14;

void sgd_cpu(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf,
             const SgdStep& s) {
  float* p = param.data<float>();
  const float* g = grad.data<float>();
  const int64_t n = param.numel();
  const float lr = s.lr, wd = s.weight_decay, mom = s.momentum, damp = s.one_minus_dampening;
  if (mom == 0.0f) {
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
    for (int64_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
    return;
  }
  float* buf = momentum_buf.data<float>();
  const bool first = s.first, nesterov = s.nesterov;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float d = g[i] + wd * p[i];
    const float b = first ? d : mom * buf[i] + damp * d;
    buf[i] = b;
    p[i] -= lr * (nesterov ? d + mom * b : b);
  }
}

void adam_cpu(const Tensor& param, const Tensor& grad, const Tensor& m_t, const Tensor& v_t,
              const AdamStep& s) {
  float* p = param.data<float>();
  const float* g = grad.data<float>();
  float* m = m_t.data<float>();
  float* v = v_t.data<float>();
  const int64_t n = param.numel();
  const float step_size = s.step_size, fbias2_sqrt = s.bias2_sqrt;
  const float fb1 = s.beta1, fb2 = s.beta2, one_b1 = s.one_minus_beta1, one_b2 = s.one_minus_beta2;
  const float eps = s.eps, l2 = s.l2, shrink = s.shrink;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const float pi = p[i] * shrink;
    const float gi = g[i] + l2 * pi;
    const float mi = fb1 * m[i] + one_b1 * gi;
    const float vi = fb2 * v[i] + one_b2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = pi - step_size * mi / (std::sqrt(vi) / fbias2_sqrt + eps);
  }
}

void unscale_cpu(const Tensor& grad, float inv_scale, const Tensor& found) {
  float* g = grad.data<float>();
  const int64_t n = grad.numel();
  bool bad = false;
#pragma omp parallel for schedule(static) reduction(|| : bad) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    bad = bad || !std::isfinite(g[i]);
    g[i] *= inv_scale;
  }
  if (bad) found.data<int32_t>()[0] = 1;
}

void sum_squares_cpu(const Tensor& grad, const Tensor& acc) {
  const float* g = grad.data<float>();
  const int64_t n = grad.numel();
  double s = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : s) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  double total = 0.0;
  std::memcpy(&total, acc.raw(), sizeof total);
  total += s;
  std::memcpy(acc.raw(), &total, sizeof total);
}

}  // namespace

RM_REGISTER_KERNELS(OptimizerUpdateKernels, cpu, {sgd_cpu, adam_cpu, unscale_cpu, sum_squares_cpu});

}  // namespace ringmaster::ops
