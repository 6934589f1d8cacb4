// Optimizer update CUDA kernels: the CPU loops' float expressions with every
// multiply and add rounded separately (__fmul_rn / __fadd_rn: no FMA
// contraction) and IEEE sqrt and division, so the same inputs give the same
// bits as the CPU. Grid-stride loops on the default stream.
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"
#include "ops/optimizer_update.h"

namespace ringmaster::ops {
namespace {

__global__ void sgd_plain(float* p, const float* g, int64_t n, float lr, float wd) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const float d = __fadd_rn(g[i], __fmul_rn(wd, p[i]));
    p[i] = __fsub_rn(p[i], __fmul_rn(lr, d));
  }
}

__global__ void sgd_momentum(float* p, const float* g, float* buf, int64_t n, SgdStep s) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const float d = __fadd_rn(g[i], __fmul_rn(s.weight_decay, p[i]));
    const float b =
        s.first ? d : __fadd_rn(__fmul_rn(s.momentum, buf[i]), __fmul_rn(s.one_minus_dampening, d));
    buf[i] = b;
    const float step = s.nesterov ? __fadd_rn(d, __fmul_rn(s.momentum, b)) : b;
    p[i] = __fsub_rn(p[i], __fmul_rn(s.lr, step));
  }
}

__global__ void adam_kernel(float* p, const float* g, float* m, float* v, int64_t n, AdamStep s) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const float pi = __fmul_rn(p[i], s.shrink);
    const float gi = __fadd_rn(g[i], __fmul_rn(s.l2, pi));
    const float mi = __fadd_rn(__fmul_rn(s.beta1, m[i]), __fmul_rn(s.one_minus_beta1, gi));
    const float vi =
        __fadd_rn(__fmul_rn(s.beta2, v[i]), __fmul_rn(__fmul_rn(s.one_minus_beta2, gi), gi));
    m[i] = mi;
    v[i] = vi;
    const float denom = __fadd_rn(__fdiv_rn(__fsqrt_rn(vi), s.bias2_sqrt), s.eps);
    p[i] = __fsub_rn(pi, __fdiv_rn(__fmul_rn(s.step_size, mi), denom));
  }
}

__global__ void unscale_kernel(float* g, int64_t n, float inv_scale, int32_t* found) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const float v = g[i];
    if (!isfinite(v)) *found = 1;  // every writer stores 1: no atomics needed
    g[i] = v * inv_scale;
  }
}

// acc += sum of g^2: per-block sums in double, one atomic add per block.
__global__ void sum_squares_kernel(const float* g, int64_t n, double* acc) {
  __shared__ double s[256];
  double v = 0.0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    v += static_cast<double>(g[i]) * static_cast<double>(g[i]);
  s[threadIdx.x] = v;
  __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k >>= 1) {
    if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
    __syncthreads();
  }
  if (threadIdx.x == 0) atomicAdd(acc, s[0]);
}

void sgd_cuda(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf,
              const SgdStep& s) {
  const int64_t n = param.numel();
  if (n == 0) return;
  cuda::set_device(param.device().index);
  float* p = static_cast<float*>(param.raw());
  const float* g = static_cast<const float*>(grad.raw());
  if (s.momentum == 0.0f) {
    sgd_plain<<<cuda::blocks_for(n), 256>>>(p, g, n, s.lr, s.weight_decay);
  } else {
    sgd_momentum<<<cuda::blocks_for(n), 256>>>(p, g, static_cast<float*>(momentum_buf.raw()), n, s);
  }
  CUDA_CHECK_LAUNCH();
}

void adam_cuda(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
               const AdamStep& s) {
  const int64_t n = param.numel();
  if (n == 0) return;
  cuda::set_device(param.device().index);
  adam_kernel<<<cuda::blocks_for(n), 256>>>(
      static_cast<float*>(param.raw()), static_cast<const float*>(grad.raw()),
      static_cast<float*>(m.raw()), static_cast<float*>(v.raw()), n, s);
  CUDA_CHECK_LAUNCH();
}

void unscale_cuda(const Tensor& grad, float inv_scale, const Tensor& found) {
  const int64_t n = grad.numel();
  if (n == 0) return;
  cuda::set_device(grad.device().index);
  unscale_kernel<<<cuda::blocks_for(n), 256>>>(static_cast<float*>(grad.raw()), n, inv_scale,
                                               static_cast<int32_t*>(found.raw()));
  CUDA_CHECK_LAUNCH();
}

void sum_squares_cuda(const Tensor& grad, const Tensor& acc) {
  const int64_t n = grad.numel();
  if (n == 0) return;
  cuda::set_device(grad.device().index);
  sum_squares_kernel<<<cuda::blocks_for(n), 256>>>(static_cast<const float*>(grad.raw()), n,
                                                   static_cast<double*>(acc.raw()));
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(OptimizerUpdateKernels, cuda,
                    {sgd_cuda, adam_cuda, unscale_cuda, sum_squares_cuda});

}  // namespace ringmaster::ops
