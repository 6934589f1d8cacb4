// The core library's CUDA entry points (ops/cuda/cuda_memory.h). Nothing of
// CUDA is linked into the core: on first use this asks the driver
// (libcuda.so.1, tiny) whether a GPU exists, and only then loads
// libringmaster_ops_cuda.so from beside libringmaster_ops.so, whose kernels
// register themselves as it loads. So CPU-only runs never map cuBLAS/cuDNN.
#include <dlfcn.h>

#include <filesystem>
#include <mutex>

#include "ops/check.h"
#include "ops/cuda/cuda_api.h"
#include "ops/cuda/cuda_memory.h"
#include "ops/nccl.h"

namespace ringmaster::ops::cuda {
namespace {

struct Loaded {
  const CudaApi* api = nullptr;
  std::string reason;  // why api is null
};

// Path of the CUDA module: beside the library holding this function.
std::string module_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&module_path), &info) == 0 || info.dli_fname == nullptr)
    return "libringmaster_ops_cuda.so";
  return (std::filesystem::path(info.dli_fname).parent_path() / "libringmaster_ops_cuda.so")
      .string();
}

// Asks the driver for its device count without the runtime (cuInit, cuDeviceGetCount).
int driver_device_count(std::string& reason) {
  void* drv = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (drv == nullptr) {
    reason = "no CUDA driver on this machine (libcuda.so.1 not found)";
    return 0;
  }
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  auto init = reinterpret_cast<InitFn>(dlsym(drv, "cuInit"));
  auto count = reinterpret_cast<CountFn>(dlsym(drv, "cuDeviceGetCount"));
  int n = 0;
  if (init == nullptr || count == nullptr) {
    reason = "libcuda.so.1 lacks cuInit/cuDeviceGetCount";
  } else if (const int err = init(0); err != 0) {
    reason = "the CUDA driver failed to initialise (CUresult " + std::to_string(err) + ")";
  } else if (count(&n) != 0 || n == 0) {
    reason = "no CUDA device found";
    n = 0;
  }
  return n;  // the driver stays loaded: the runtime will want it
}

const Loaded& loaded() {
  static const Loaded l = [] {
    Loaded r;
    const std::string path = module_path();
    if (!std::filesystem::exists(path)) {
      r.reason = "this build of ringmaster has no CUDA backend (" + path + " not found)";
      return r;
    }
    if (driver_device_count(r.reason) == 0) return r;
    void* module = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (module == nullptr) {
      r.reason = std::string("cannot load the CUDA backend: ") + dlerror();
      return r;
    }
    using ApiFn = const CudaApi* (*)();
    auto get = reinterpret_cast<ApiFn>(dlsym(module, "ringmaster_cuda_api"));
    if (get == nullptr) {
      r.reason = path + " lacks ringmaster_cuda_api";
      return r;
    }
    r.api = get();
    if (r.api->device_count() == 0) {
      r.reason = r.api->unavailable_reason();
      r.api = nullptr;
    }
    return r;
  }();
  return l;
}

const CudaApi& api() {
  const Loaded& l = loaded();
  RM_THROW_IF(l.api == nullptr, "CUDA is not available: ", l.reason);
  return *l.api;
}

}  // namespace

bool built() { return std::filesystem::exists(module_path()); }
int device_count() { return loaded().api ? loaded().api->device_count() : 0; }
std::string unavailable_reason() { return loaded().reason; }
void* alloc(size_t nbytes, int device) { return api().alloc(nbytes, device); }
void free(void* ptr, size_t nbytes, int device) {
  if (loaded().api) loaded().api->free(ptr, nbytes, device);
}
void copy(void* dst, bool dst_on_gpu, const void* src, bool src_on_gpu, size_t nbytes) {
  api().copy(dst, dst_on_gpu, src, src_on_gpu, nbytes);
}
void memset_zero(void* ptr, size_t nbytes) { api().memset_zero(ptr, nbytes); }
void release_cached() {
  if (loaded().api) loaded().api->release_cached();
}
void set_alloc_poison(bool on) {
  if (loaded().api) loaded().api->set_alloc_poison(on);
}

}  // namespace ringmaster::ops::cuda

// NCCL (ops/nccl.h): the backend's errors come back as ops::Error.
namespace ringmaster::ops {
namespace {
template <class F>
auto nccl_call(const char* what, F f) {
  try {
    return f(cuda::api());
  } catch (const ops::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw ops::Error(std::string(what) + ": " + e.what());
  }
}
}  // namespace

std::string nccl_unavailable_reason() {
  if (cuda::loaded().api == nullptr) return "no GPU: " + cuda::loaded().reason;
  return cuda::loaded().api->nccl_unavailable_reason();
}
std::string nccl_unique_id() {
  return nccl_call("nccl unique id", [](const cuda::CudaApi& a) { return a.nccl_unique_id(); });
}
void* nccl_init(int world, const std::string& unique_id, int rank, int device) {
  return nccl_call("nccl init", [&](const cuda::CudaApi& a) {
    return a.nccl_init(world, unique_id, rank, device);
  });
}
void nccl_allreduce_sum(void* comm, float* data, size_t count) {
  nccl_call("nccl all-reduce", [&](const cuda::CudaApi& a) {
    a.nccl_allreduce_sum(comm, data, count);
    return 0;
  });
}
void nccl_allreduce_sum_fp16(void* comm, float* data, float* residual, void* half_buf,
                             float* scratch, size_t count) {
  nccl_call("nccl fp16 all-reduce", [&](const cuda::CudaApi& a) {
    a.nccl_allreduce_sum_fp16(comm, data, residual, half_buf, scratch, count);
    return 0;
  });
}
void nccl_wait(void* comm, int64_t timeout_ms, const std::atomic<bool>* cancel) {
  nccl_call("nccl all-reduce", [&](const cuda::CudaApi& a) {
    a.nccl_wait(comm, timeout_ms, cancel);
    return 0;
  });
}
void nccl_destroy(void* comm) {
  if (comm != nullptr && cuda::loaded().api) cuda::loaded().api->nccl_destroy(comm);
}

}  // namespace ringmaster::ops
