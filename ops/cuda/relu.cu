// relu CUDA kernels: grid-stride element-wise loops over plain f32 or f16
// buffers (CUDA tensors are plain).
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/kernel_registry.h"
#include "ops/relu.h"

namespace ringmaster::ops {
namespace {

using cuda::load;
using cuda::store;

template <class T>
__global__ void relu_fwd(const T* x, T* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const float v = load(x[i]);
    y[i] = store<T>(v > 0.0f ? v : 0.0f);
  }
}

template <class T>
__global__ void relu_bwd(const T* y, const T* dy, T* dx, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    dx[i] = load(y[i]) > 0.0f ? dy[i] : store<T>(0.0f);
}

void relu_forward_cuda(const Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  cuda::set_device(x.device().index);
  cuda::dispatch_float(x.dtype(), [&](auto tag) {
    using T = cuda::elem_t<decltype(tag)>;
    relu_fwd<T>
        <<<cuda::blocks_for(n), 256>>>(static_cast<const T*>(x.raw()), static_cast<T*>(y.raw()), n);
  });
  CUDA_CHECK_LAUNCH();
}

void relu_backward_cuda(const Tensor& y, const Tensor& dy, const Tensor& dx) {
  const int64_t n = y.numel();
  if (n == 0) return;
  cuda::set_device(y.device().index);
  cuda::dispatch_float(y.dtype(), [&](auto tag) {
    using T = cuda::elem_t<decltype(tag)>;
    relu_bwd<T><<<cuda::blocks_for(n), 256>>>(static_cast<const T*>(y.raw()),
                                              static_cast<const T*>(dy.raw()),
                                              static_cast<T*>(dx.raw()), n);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(ReluKernels, cuda, {relu_forward_cuda, relu_backward_cuda});

}  // namespace ringmaster::ops
