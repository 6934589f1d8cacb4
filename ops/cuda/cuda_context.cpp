// Per-thread cuDNN/cuBLAS handles and descriptor wrappers (see
// cuda_context.h). Handles are made lazily per (thread, device) on the
// default stream and deliberately leaked at exit.
#include "ops/cuda/cuda_context.h"

#include <climits>
#include <map>

#include "ops/check.h"

namespace ringmaster::ops::cuda {
namespace {

struct ThreadHandles {
  int current = -1;
  std::map<int, cudnnHandle_t> cudnn;
  std::map<int, cublasHandle_t> cublas;
};

ThreadHandles& handles() {
  // Leaked on purpose: destroying handles after the CUDA runtime has shut
  // down crashes, and a training thread lives as long as the process.
  thread_local ThreadHandles* h = new ThreadHandles();
  return *h;
}

}  // namespace

void set_device(int device) {
  ThreadHandles& h = handles();
  if (h.current == device) return;
  CUDA_CHECK(cudaSetDevice(device));
  h.current = device;
}

cudnnHandle_t cudnn(int device) {
  set_device(device);
  ThreadHandles& h = handles();
  auto it = h.cudnn.find(device);
  if (it != h.cudnn.end()) return it->second;
  cudnnHandle_t handle = nullptr;
  CUDNN_CHECK(cudnnCreate(&handle));
  h.cudnn.emplace(device, handle);
  return handle;
}

cublasHandle_t cublas(int device) {
  set_device(device);
  ThreadHandles& h = handles();
  auto it = h.cublas.find(device);
  if (it != h.cublas.end()) return it->second;
  cublasHandle_t handle = nullptr;
  CUBLAS_CHECK(cublasCreate(&handle));
  // Full fp32 products (no TF32), the numbers the CPU path gives.
  CUBLAS_CHECK(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH));
  h.cublas.emplace(device, handle);
  return handle;
}

int to_int(int64_t v, const char* what) {
  RM_CHECK(v >= 0 && v <= INT_MAX, what, " = ", v, " does not fit the CUDA libraries' int");
  return static_cast<int>(v);
}

cudnnDataType_t cudnn_type(DType t) {
  RM_CHECK(t == DType::f32 || t == DType::f16, "cuDNN tensors are f32 or f16, got ", dtype_name(t));
  return t == DType::f32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_HALF;
}

TensorDesc::TensorDesc() { CUDNN_CHECK(cudnnCreateTensorDescriptor(&d_)); }

TensorDesc::TensorDesc(int64_t n, int64_t c, int64_t h, int64_t w, DType dtype) : TensorDesc() {
  set(n, c, h, w, dtype);
}

TensorDesc::~TensorDesc() {
  if (d_ != nullptr) cudnnDestroyTensorDescriptor(d_);
}

void TensorDesc::set(int64_t n, int64_t c, int64_t h, int64_t w, DType dtype) {
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(d_, CUDNN_TENSOR_NCHW, cudnn_type(dtype), to_int(n, "n"),
                                         to_int(c, "c"), to_int(h, "h"), to_int(w, "w")));
}

Tensor workspace(size_t bytes, Device device) {
  return bytes == 0 ? Tensor() : Tensor::empty({static_cast<int64_t>(bytes)}, DType::u8, device);
}

}  // namespace ringmaster::ops::cuda
