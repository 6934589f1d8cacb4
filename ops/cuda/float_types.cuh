// Internal to ops/cuda/ .cu files: f32 and f16 element access for kernels
// templated on the stored type (float or __half). Kernels load to float,
// compute in float, and store with round-to-nearest-even, so a float kernel
// is exactly the f32 code and a half kernel rounds once per stored value.
#pragma once

#include <cuda_fp16.h>

#include <type_traits>

#include "ops/tensor.h"

namespace ringmaster::ops::cuda {

__device__ __forceinline__ float load(float v) { return v; }
__device__ __forceinline__ float load(__half v) { return __half2float(v); }

template <class T>
__device__ __forceinline__ T store(float v);
template <>
__device__ __forceinline__ float store<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half store<__half>(float v) {
  return __float2half_rn(v);
}

// Calls f(T*{}) with T the element type of dtype (f32: float, f16: __half).
template <class F>
void dispatch_float(DType t, F&& f) {
  if (t == DType::f16) {
    f(static_cast<__half*>(nullptr));
  } else {
    f(static_cast<float*>(nullptr));
  }
}

// The element type behind dispatch_float's tag.
template <class Tag>
using elem_t = std::remove_pointer_t<Tag>;

}  // namespace ringmaster::ops::cuda
