// add CUDA kernel: y = a + b over plain f32 buffers of equal size, a
// grid-stride loop. No broadcasting. Also what autograd uses to accumulate
// CUDA gradients.
#include "ops/add.h"
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

__global__ void add_kernel(const float* a, const float* b, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] = a[i] + b[i];
}

void add_forward_cuda(const Tensor& a, const Tensor& b, const Tensor& y) {
  const int64_t n = a.numel();
  if (n == 0) return;
  cuda::set_device(a.device().index);
  add_kernel<<<cuda::blocks_for(n), 256>>>(static_cast<const float*>(a.raw()),
                                           static_cast<const float*>(b.raw()),
                                           static_cast<float*>(y.raw()), n);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(AddKernels, cuda, {add_forward_cuda});

}  // namespace ringmaster::ops
