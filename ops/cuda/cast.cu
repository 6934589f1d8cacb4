// cast CUDA kernel: f32 <-> f16 element-wise, round to nearest even
// (__float2half_rn, the CPU's F16C rounding), plain buffers only. No scaling
// here: loss scaling belongs to the mixed-precision trainer.
#include <cuda_fp16.h>

#include "ops/cast.h"
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

__global__ void to_half_kernel(const float* x, __half* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] = __float2half_rn(x[i]);
}

__global__ void to_float_kernel(const __half* x, float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    y[i] = __half2float(x[i]);
}

void cast_convert_cuda(const Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  cuda::set_device(x.device().index);
  if (y.dtype() == DType::f16) {
    to_half_kernel<<<cuda::blocks_for(n), 256>>>(static_cast<const float*>(x.raw()),
                                                 static_cast<__half*>(y.raw()), n);
  } else {
    to_float_kernel<<<cuda::blocks_for(n), 256>>>(static_cast<const __half*>(x.raw()),
                                                  static_cast<float*>(y.raw()), n);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(CastKernels, cuda, {cast_convert_cuda});

}  // namespace ringmaster::ops
