// smooth_l1_loss and bce_with_logits CPU kernels: the terms summed in double
// in element order (deterministic), the derivatives element-wise in
// parallel.
#include "ops/bce_with_logits.h"
#include "ops/kernel_registry.h"
#include "ops/loss_terms.h"
#include "ops/smooth_l1.h"

namespace ringmaster::ops {
namespace {

template <class Term>
void sum_terms(const Tensor& x, const Tensor& t, double divisor, const Tensor& loss, Term term) {
  const float* a = x.data<float>();
  const float* b = t.data<float>();
  double sum = 0.0;
  for (int64_t i = 0; i < x.numel(); ++i) sum += term(a[i], b[i]);
  loss.data<float>()[0] = static_cast<float>(sum / divisor);
}

template <class Derivative>
void derivatives(const Tensor& x, const Tensor& t, float scale, const Tensor& dx, Derivative f) {
  const float* a = x.data<float>();
  const float* b = t.data<float>();
  float* d = dx.data<float>();
  const int64_t n = x.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) d[i] = scale * f(a[i], b[i]);
}

void smooth_l1_forward_cpu(const Tensor& x, const Tensor& t, double beta, double divisor,
                           const Tensor& loss) {
  sum_terms(x, t, divisor, loss, [beta](float a, float b) { return smooth_l1_term(a, b, beta); });
}

void smooth_l1_backward_cpu(const Tensor& x, const Tensor& t, double beta, float scale,
                            const Tensor& dx) {
  derivatives(x, t, scale, dx,
              [beta](float a, float b) { return smooth_l1_derivative(a, b, beta); });
}

void bce_forward_cpu(const Tensor& x, const Tensor& t, double divisor, const Tensor& loss) {
  sum_terms(x, t, divisor, loss, [](float a, float b) { return bce_with_logits_term(a, b); });
}

void bce_backward_cpu(const Tensor& x, const Tensor& t, float scale, const Tensor& dx) {
  derivatives(x, t, scale, dx, [](float a, float b) { return bce_with_logits_derivative(a, b); });
}

}  // namespace

RM_REGISTER_KERNELS(SmoothL1Kernels, cpu, {smooth_l1_forward_cpu, smooth_l1_backward_cpu});
RM_REGISTER_KERNELS(BceWithLogitsKernels, cpu, {bce_forward_cpu, bce_backward_cpu});

}  // namespace ringmaster::ops
