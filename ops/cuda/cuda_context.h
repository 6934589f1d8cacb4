// Internal to ops/cuda/: the per-thread, per-device cuDNN and cuBLAS handles,
// one check macro per library (each throws ops::Error with the call, the
// library's error text, file and line: cuda_check.h), small RAII wrappers
// for cuDNN descriptors and launch helpers. Everything runs on the legacy default stream, so the
// caching allocator may hand a freed block to the next op without events. C++17 (included by .cu
// files); no vendor type leaves ops/cuda/.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "ops/cuda/cuda_check.h"
#include "ops/tensor.h"

#define CUDNN_CHECK(call) RM_LIBRARY_CHECK("cuDNN", call, CUDNN_STATUS_SUCCESS, cudnnGetErrorString)
#define CUBLAS_CHECK(call) \
  RM_LIBRARY_CHECK("cuBLAS", call, CUBLAS_STATUS_SUCCESS, cublasGetStatusString)

// After a kernel launch: a bad configuration is reported at once.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

namespace ringmaster::ops::cuda {

// Makes `device` current on this thread (cheap when it already is).
void set_device(int device);
// This thread's handles for `device` (made on first use, on the default
// stream; never destroyed, as PyTorch does, to stay clear of tear-down order).
// Both make the device current.
cudnnHandle_t cudnn(int device);
cublasHandle_t cublas(int device);

// Grid size for a grid-stride loop over n elements with `threads` per block.
inline int blocks_for(int64_t n, int threads = 256) {
  const int64_t b = (n + threads - 1) / threads;
  return static_cast<int>(b < 1 ? 1 : (b > 65535 ? 65535 : b));
}

// Checked narrowing for the int-sized dims of the vendor APIs.
int to_int(int64_t v, const char* what);

// A 4-d NCHW f32/f16 tensor descriptor, owned.
class TensorDesc {
 public:
  TensorDesc();
  TensorDesc(int64_t n, int64_t c, int64_t h, int64_t w, DType dtype = DType::f32);
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  void set(int64_t n, int64_t c, int64_t h, int64_t w, DType dtype = DType::f32);
  cudnnTensorDescriptor_t get() const { return d_; }

 private:
  cudnnTensorDescriptor_t d_ = nullptr;
};

cudnnDataType_t cudnn_type(DType t);

// A scratch buffer of `bytes` on `device` for a cuDNN call (undefined when 0),
// and the pointer to hand cuDNN for a tensor that may be undefined.
Tensor workspace(size_t bytes, Device device);
inline void* raw_or_null(const Tensor& t) { return t.defined() ? t.raw() : nullptr; }

}  // namespace ringmaster::ops::cuda
