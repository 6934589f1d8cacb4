// The kernels of NCCL's fp16-compressed all-reduce (see nccl_backend.cpp):
// add the error-feedback residual and find max |x|; compress to half with a
// power-of-two scale every rank derives from the same global max, keeping the
// rounding residual; expand the summed halves back to f32.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace ringmaster::ops::cuda {
namespace {

constexpr int kThreads = 256;

int blocks(size_t n) {
  const size_t b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < 4096 ? (b == 0 ? 1 : b) : 4096);
}

// Non-negative floats order like their bit patterns: atomicMax on ints.
__global__ void add_residual_and_max(float* x, const float* residual, float* max_abs, size_t n) {
  float m = 0.0f;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(blockDim.x) * gridDim.x) {
    const float v = x[i] + residual[i];
    x[i] = v;
    const float a = fabsf(v);
    if (a > m && a <= 3.4e38f) m = a;  // NaN and inf left to the loss scaler
  }
  atomicMax(reinterpret_cast<int*>(max_abs), __float_as_int(m));
}

// 2^k with max * world * 2^k <= 2^14: the sum of all ranks' halves stays
// finite (f16 max 65504) with room for rounding.
__device__ float common_scale(float max_abs, int world) {
  if (!(max_abs > 0.0f)) return 1.0f;
  return exp2f(floorf(log2f(16384.0f / (max_abs * static_cast<float>(world)))));
}

__global__ void compress(const float* x, float* residual, __half* h, const float* max_abs,
                         int world, size_t n) {
  const float scale = common_scale(*max_abs, world);
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(blockDim.x) * gridDim.x) {
    const __half q = __float2half_rn(x[i] * scale);
    h[i] = q;
    // An inf or NaN leaves no residual: carried forward it would poison
    // every later step (the loss scaler skips the step it spoiled).
    const float r = x[i] - __half2float(q) / scale;
    residual[i] = isfinite(r) ? r : 0.0f;
  }
}

__global__ void expand(const __half* h, float* x, const float* max_abs, int world, size_t n) {
  const float scale = common_scale(*max_abs, world);
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n;
       i += size_t(blockDim.x) * gridDim.x)
    x[i] = __half2float(h[i]) / scale;
}

}  // namespace

void fp16_prepare(float* x, const float* residual, float* max_abs, size_t n, cudaStream_t s) {
  cudaMemsetAsync(max_abs, 0, sizeof(float), s);
  add_residual_and_max<<<blocks(n), kThreads, 0, s>>>(x, residual, max_abs, n);
}
void fp16_compress(const float* x, float* residual, void* h, const float* max_abs, int world,
                   size_t n, cudaStream_t s) {
  compress<<<blocks(n), kThreads, 0, s>>>(x, residual, static_cast<__half*>(h), max_abs, world, n);
}
void fp16_expand(const void* h, float* x, const float* max_abs, int world, size_t n,
                 cudaStream_t s) {
  expand<<<blocks(n), kThreads, 0, s>>>(static_cast<const __half*>(h), x, max_abs, world, n);
}

}  // namespace ringmaster::ops::cuda
