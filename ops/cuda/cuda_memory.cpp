// CUDA memory via the runtime API (built only with CUDA). Allocations are
// cached per (device, size) like the host allocator; device discovery never
// throws: no driver or no GPU means 0 devices and a stated reason. With
// poisoning on (set_alloc_poison or RM_CUDA_POISON=1) every block handed out
// is filled with 0xFF bytes (NaN as f32 and f16), so tests see unwritten output.
#include "ops/cuda/cuda_api.h"

#include <cuda_runtime.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "ops/check.h"
#include "ops/cuda/cuda_check.h"
#include "ops/cuda/cuda_context.h"

namespace ringmaster::ops::cuda {
namespace {
// The runtime side of CudaApi; the core reaches these through ringmaster_cuda_api().

struct Probe {
  int count = 0;
  std::string reason;
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      r.reason = std::string("CUDA runtime: ") + cudaGetErrorString(err);
      cudaGetLastError();  // clear the sticky error
    } else if (n == 0) {
      r.reason = "no CUDA device found";
    }
    r.count = err == cudaSuccess ? n : 0;
    return r;
  }();
  return p;
}

struct Cache {
  std::mutex mu;
  std::map<std::pair<int, size_t>, std::vector<void*>> free_blocks;
};
Cache& cache() {
  static Cache* c = new Cache();
  return *c;
}

std::atomic<bool>& poison_flag() {
  static std::atomic<bool> on = [] {
    const char* e = std::getenv("RM_CUDA_POISON");
    return e != nullptr && std::strcmp(e, "0") != 0 && e[0] != '\0';
  }();
  return on;
}

void* poisoned(void* p, size_t n) {
  if (poison_flag().load(std::memory_order_relaxed)) CUDA_CHECK(cudaMemset(p, 0xFF, n));
  return p;
}

void release_cached();

int device_count() { return probe().count; }
std::string unavailable_reason() { return probe().reason; }

void* alloc(size_t nbytes, int device) {
  RM_THROW_IF(device >= device_count(), "cuda:", device,
              " is not available: ", probe().reason.empty() ? "no such device" : probe().reason);
  const size_t n = nbytes == 0 ? 256 : (nbytes + 255) / 256 * 256;
  {
    std::lock_guard<std::mutex> lock(cache().mu);
    auto it = cache().free_blocks.find({device, n});
    if (it != cache().free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      return poisoned(p, n);
    }
  }
  set_device(device);
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, n);
  if (err == cudaErrorMemoryAllocation) {
    // Give the cached blocks back and try once more before failing.
    cudaGetLastError();
    release_cached();
    err = cudaMalloc(&p, n);
  }
  RM_THROW_IF(err != cudaSuccess, "cuda:", device, ": cannot allocate ", n,
              " bytes: ", cudaGetErrorString(err));
  return poisoned(p, n);
}

void set_alloc_poison(bool on) { poison_flag().store(on); }

void free(void* ptr, size_t nbytes, int device) {
  if (ptr == nullptr) return;
  const size_t n = nbytes == 0 ? 256 : (nbytes + 255) / 256 * 256;
  std::lock_guard<std::mutex> lock(cache().mu);
  cache().free_blocks[{device, n}].push_back(ptr);
}

void copy(void* dst, bool dst_on_gpu, const void* src, bool src_on_gpu, size_t nbytes) {
  cudaMemcpyKind kind = dst_on_gpu
                            ? (src_on_gpu ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                            : cudaMemcpyDeviceToHost;
  CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kind));
}

void memset_zero(void* ptr, size_t nbytes) { CUDA_CHECK(cudaMemset(ptr, 0, nbytes)); }

void release_cached() {
  std::lock_guard<std::mutex> lock(cache().mu);
  for (auto& [key, blocks] : cache().free_blocks) {
    for (void* p : blocks) cudaFree(p);
  }
  cache().free_blocks.clear();
}

}  // namespace
}  // namespace ringmaster::ops::cuda

namespace ringmaster::ops::cuda {
// nccl_backend.cpp
std::string nccl_unavailable_reason_impl();
std::string nccl_unique_id_impl();
void* nccl_init_impl(int world, const std::string& unique_id, int rank, int device);
void nccl_allreduce_sum_impl(void* comm, float* data, size_t count);
void nccl_allreduce_sum_fp16_impl(void* comm, float* data, float* residual, void* half_buf,
                                  float* scratch, size_t count);
void nccl_wait_impl(void* comm, int64_t timeout_ms, const std::atomic<bool>* cancel);
void nccl_destroy_impl(void* comm);
}  // namespace ringmaster::ops::cuda

extern "C" const ringmaster::ops::cuda::CudaApi* ringmaster_cuda_api() {
  namespace c = ringmaster::ops::cuda;
  static const c::CudaApi api{c::device_count,
                              c::unavailable_reason,
                              c::alloc,
                              c::free,
                              c::copy,
                              c::memset_zero,
                              c::release_cached,
                              c::set_alloc_poison,
                              c::nccl_unavailable_reason_impl,
                              c::nccl_unique_id_impl,
                              c::nccl_init_impl,
                              c::nccl_allreduce_sum_impl,
                              c::nccl_allreduce_sum_fp16_impl,
                              c::nccl_wait_impl,
                              c::nccl_destroy_impl};
  return &api;
}
