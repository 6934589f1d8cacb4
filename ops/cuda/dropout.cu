// dropout CUDA kernels: the same mask as the CPU, element i kept when
// dropout_keeps(seed, i, threshold) (ops/dropout.h's constexpr hash, called
// on the device), so a CPU run and a GPU run with one seed drop the same
// units. Plain f32 or f16 buffers; no curand.
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/dropout.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

using cuda::load;
using cuda::store;

template <class T>
__global__ void dropout_fwd(const T* x, T* y, uint8_t* mask, float scale, uint64_t seed,
                            uint64_t threshold, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const bool keep = dropout_keeps(seed, static_cast<uint64_t>(i), threshold);
    mask[i] = keep ? 1 : 0;
    y[i] = store<T>(keep ? load(x[i]) * scale : 0.0f);
  }
}

template <class T>
__global__ void dropout_bwd(const T* dy, const uint8_t* mask, float scale, T* dx, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    dx[i] = store<T>(mask[i] ? load(dy[i]) * scale : 0.0f);
}

void dropout_forward_cuda(const Tensor& x, float p, float scale, uint64_t seed, const Tensor& mask,
                          const Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  cuda::set_device(x.device().index);
  const uint64_t threshold = dropout_threshold(p);
  cuda::dispatch_float(x.dtype(), [&](auto tag) {
    using T = cuda::elem_t<decltype(tag)>;
    dropout_fwd<T><<<cuda::blocks_for(n), 256>>>(
        static_cast<const T*>(x.raw()), static_cast<T*>(y.raw()), static_cast<uint8_t*>(mask.raw()),
        scale, seed, threshold, n);
  });
  CUDA_CHECK_LAUNCH();
}

void dropout_backward_cuda(const Tensor& dy, const Tensor& mask, float scale, const Tensor& dx) {
  const int64_t n = dx.numel();
  if (n == 0) return;
  cuda::set_device(dx.device().index);
  cuda::dispatch_float(dx.dtype(), [&](auto tag) {
    using T = cuda::elem_t<decltype(tag)>;
    dropout_bwd<T><<<cuda::blocks_for(n), 256>>>(static_cast<const T*>(dy.raw()),
                                                 static_cast<const uint8_t*>(mask.raw()), scale,
                                                 static_cast<T*>(dx.raw()), n);
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(DropoutKernels, cuda, {dropout_forward_cuda, dropout_backward_cuda});

}  // namespace ringmaster::ops
