// add CPU kernel: one vectorised pass over the physical buffer that a, b and y
// share (the layouts were matched before); no broadcasting, f32 only.
#include "ops/add.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

void add_forward_cpu(const Tensor& a, const Tensor& b, const Tensor& y) {
  const float* pa = static_cast<const float*>(a.raw());
  const float* pb = static_cast<const float*>(b.raw());
  float* out = static_cast<float*>(y.raw());
  const int64_t n = physical_numel(a);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = pa[i] + pb[i];
}

}  // namespace

RM_REGISTER_KERNELS(AddKernels, cpu, {add_forward_cpu});

}  // namespace ringmaster::ops
