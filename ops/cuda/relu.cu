// relu CUDA kernels: grid-stride element-wise loops (CUDA tensors are plain).
#include "ops/cuda/cuda_check.h"
#include "ops/kernel_registry.h"
#include "ops/relu.h"

namespace ringmaster::ops {
namespace {

__global__ void relu_fwd(const float* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

__global__ void relu_bwd(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

int blocks_for(int64_t n) { return static_cast<int>(n / 256 + 1 < 4096 ? n / 256 + 1 : 4096); }

void relu_forward_cuda(const Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  relu_fwd<<<blocks_for(n), 256>>>(static_cast<const float*>(x.raw()),
                                   static_cast<float*>(y.raw()), n);
  CUDA_CHECK(cudaGetLastError());
}

void relu_backward_cuda(const Tensor& y, const Tensor& dy, const Tensor& dx) {
  const int64_t n = y.numel();
  relu_bwd<<<blocks_for(n), 256>>>(static_cast<const float*>(y.raw()),
                                   static_cast<const float*>(dy.raw()),
                                   static_cast<float*>(dx.raw()), n);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace

RM_REGISTER_KERNELS(ReluKernels, cuda, {relu_forward_cuda, relu_backward_cuda});

}  // namespace ringmaster::ops
