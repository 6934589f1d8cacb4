// add CUDA kernel: y = a + b over plain f32 or f16 buffers of equal size
// (f16 summed in float, rounded once), a grid-stride loop. No broadcasting.
// Also what autograd uses to accumulate CUDA gradients.
#include "ops/add.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

using cuda::load;
using cuda::store;

template <class T>
__global__ void add_kernel(const T* a, const T* b, T* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] = store<T>(load(a[i]) + load(b[i]));
}

void add_forward_cuda(const Tensor& a, const Tensor& b, const Tensor& y) {
  const int64_t n = a.numel();
  if (n == 0) return;
  cuda::set_device(a.device().index);
  cuda::dispatch_float(a.dtype(), [&](auto tag) {
    using T = cuda::elem_t<decltype(tag)>;
    add_kernel<T><<<cuda::blocks_for(n), 256>>>(static_cast<const T*>(a.raw()),
                                                static_cast<const T*>(b.raw()),
                                                static_cast<T*>(y.raw()), n);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(AddKernels, cuda, {add_forward_cuda});

}  // namespace ringmaster::ops
