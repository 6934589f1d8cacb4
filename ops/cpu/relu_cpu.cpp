// relu CPU kernels: one vectorised pass over the physical buffer (blocked
// padding is zero and stays zero).
#include "ops/kernel_registry.h"
#include "ops/relu.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

void relu_forward_cpu(const Tensor& x, const Tensor& y) {
  const float* in = static_cast<const float*>(x.raw());
  float* out = static_cast<float*>(y.raw());
  const int64_t n = physical_numel(x);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void relu_backward_cpu(const Tensor& y, const Tensor& dy, const Tensor& dx) {
  const float* yv = static_cast<const float*>(y.raw());
  const float* g = static_cast<const float*>(dy.raw());
  float* out = static_cast<float*>(dx.raw());
  const int64_t n = physical_numel(y);
  // g[i] loaded unconditionally, so the select vectorises (see conv2d_cpu.cpp).
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    out[i] = yv[i] > 0.0f ? gi : 0.0f;
  }
}

}  // namespace

RM_REGISTER_KERNELS(ReluKernels, cpu, {relu_forward_cpu, relu_backward_cpu});

}  // namespace ringmaster::ops
