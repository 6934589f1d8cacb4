// dropout CPU kernels: one vectorised pass over the physical buffer; each
// element's keep bit is a hash of (seed, index), so the static schedule and
// the thread count do not change the mask.
#include "ops/dropout.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

void dropout_forward_cpu(const Tensor& x, float p, float scale, uint64_t seed, const Tensor& mask,
                         const Tensor& y) {
  const float* in = static_cast<const float*>(x.raw());
  float* out = static_cast<float*>(y.raw());
  uint8_t* m = static_cast<uint8_t*>(mask.raw());
  const uint64_t threshold = dropout_threshold(p);
  const int64_t n = physical_numel(x);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const bool keep = dropout_keeps(seed, static_cast<uint64_t>(i), threshold);
    m[i] = keep ? 1 : 0;
    out[i] = keep ? in[i] * scale : 0.0f;
  }
}

void dropout_backward_cpu(const Tensor& dy, const Tensor& mask, float scale, const Tensor& dx) {
  const float* g = static_cast<const float*>(dy.raw());
  const uint8_t* m = static_cast<const uint8_t*>(mask.raw());
  float* out = static_cast<float*>(dx.raw());
  const int64_t n = physical_numel(dx);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = m[i] ? g[i] * scale : 0.0f;
}

}  // namespace

RM_REGISTER_KERNELS(DropoutKernels, cpu, {dropout_forward_cpu, dropout_backward_cpu});

}  // namespace ringmaster::ops
