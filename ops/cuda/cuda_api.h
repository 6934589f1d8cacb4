// The table of CUDA runtime entry points that libringmaster_ops_cuda.so hands
// to the core ops library when it is loaded (ops/cuda/cuda_loader.cpp). The
// core never links the CUDA libraries itself: cuBLAS and cuDNN (half a
// gigabyte to map and relocate) load only on a machine with a GPU.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ringmaster::ops::cuda {

struct CudaApi {
  int (*device_count)();
  std::string (*unavailable_reason)();
  void* (*alloc)(size_t nbytes, int device);
  void (*free)(void* ptr, size_t nbytes, int device);
  void (*copy)(void* dst, bool dst_on_gpu, const void* src, bool src_on_gpu, size_t nbytes);
  void (*memset_zero)(void* ptr, size_t nbytes);
  void (*release_cached)();
  void (*set_alloc_poison)(bool on);
  // NCCL, loaded on first use (libnccl.so.2); see ops/cuda/nccl.h.
  std::string (*nccl_unavailable_reason)();  // empty: usable
  std::string (*nccl_unique_id)();           // NCCL_UNIQUE_ID_BYTES raw bytes
  void* (*nccl_init)(int world, const std::string& id, int rank, int device);
  void (*nccl_allreduce_sum)(void* comm, float* data, size_t count);
  void (*nccl_allreduce_sum_fp16)(void* comm, float* data, float* residual, void* half_buf,
                                  float* scratch, size_t count);
  void (*nccl_wait)(void* comm, int64_t timeout_ms, const std::atomic<bool>* cancel);
  void (*nccl_destroy)(void* comm);
};

}  // namespace ringmaster::ops::cuda

// Exported by libringmaster_ops_cuda.so (looked up with dlsym).
extern "C" const ringmaster::ops::cuda::CudaApi* ringmaster_cuda_api();
