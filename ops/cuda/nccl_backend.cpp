// The CUDA backend's NCCL entry points (see ops/cuda/nccl.h): libnccl.so.2 is
// dlopen'ed on first use, so the backend itself has no link-time dependency
// on NCCL. Types and constants come from nccl.h.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nccl.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "ops/cuda/cuda_api.h"

namespace ringmaster::ops::cuda {
namespace {

struct Nccl {
  std::string reason;  // empty: loaded
  ncclResult_t (*get_unique_id)(ncclUniqueId*) = nullptr;
  ncclResult_t (*comm_init_rank)(ncclComm_t*, int, ncclUniqueId, int) = nullptr;
  ncclResult_t (*all_reduce)(const void*, void*, size_t, ncclDataType_t, ncclRedOp_t, ncclComm_t,
                             cudaStream_t) = nullptr;
  ncclResult_t (*comm_destroy)(ncclComm_t) = nullptr;
  ncclResult_t (*comm_abort)(ncclComm_t) = nullptr;
  ncclResult_t (*get_async_error)(ncclComm_t, ncclResult_t*) = nullptr;
  const char* (*error_string)(ncclResult_t) = nullptr;
};

template <class F>
void bind(void* lib, const char* name, F& fn, std::string& reason) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (fn == nullptr && reason.empty()) reason = std::string("libnccl.so.2 lacks ") + name;
}

const Nccl& nccl() {
  static const Nccl n = [] {
    Nccl r;
    void* lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      r.reason = std::string("NCCL is not installed (") + dlerror() + ")";
      return r;
    }
    bind(lib, "ncclGetUniqueId", r.get_unique_id, r.reason);
    bind(lib, "ncclCommInitRank", r.comm_init_rank, r.reason);
    bind(lib, "ncclAllReduce", r.all_reduce, r.reason);
    bind(lib, "ncclCommDestroy", r.comm_destroy, r.reason);
    bind(lib, "ncclCommAbort", r.comm_abort, r.reason);
    bind(lib, "ncclCommGetAsyncError", r.get_async_error, r.reason);
    bind(lib, "ncclGetErrorString", r.error_string, r.reason);
    return r;
  }();
  return n;
}

const Nccl& usable() {
  const Nccl& n = nccl();
  if (!n.reason.empty()) throw std::runtime_error("NCCL: " + n.reason);
  return n;
}

void check(ncclResult_t r, const char* what) {
  if (r != ncclSuccess)
    throw std::runtime_error(std::string("NCCL ") + what + ": " + usable().error_string(r));
}
void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    throw std::runtime_error(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

}  // namespace

// nccl_fp16.cu
void fp16_prepare(float* x, const float* residual, float* max_abs, size_t n, cudaStream_t s);
void fp16_compress(const float* x, float* residual, void* h, const float* max_abs, int world,
                   size_t n, cudaStream_t s);
void fp16_expand(const void* h, float* x, const float* max_abs, int world, size_t n,
                 cudaStream_t s);

namespace {

struct Communicator {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t ready = nullptr;  // recorded on the default stream before each all-reduce
  int device = 0;
  int world = 1;
};

}  // namespace

std::string nccl_unavailable_reason_impl() { return nccl().reason; }

std::string nccl_unique_id_impl() {
  ncclUniqueId id;
  check(usable().get_unique_id(&id), "ncclGetUniqueId");
  return std::string(id.internal, sizeof id.internal);
}

void* nccl_init_impl(int world, const std::string& unique_id, int rank, int device) {
  const Nccl& n = usable();
  ncclUniqueId id;
  if (unique_id.size() != sizeof id.internal)
    throw std::runtime_error("NCCL unique id has " + std::to_string(unique_id.size()) +
                             " bytes, expected " + std::to_string(sizeof id.internal));
  std::memcpy(id.internal, unique_id.data(), sizeof id.internal);
  auto c = std::make_unique<Communicator>();
  c->device = device;
  c->world = world;
  check(cudaSetDevice(device), "cudaSetDevice");
  check(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cudaEventCreateWithFlags(&c->ready, cudaEventDisableTiming), "cudaEventCreate");
  check(n.comm_init_rank(&c->comm, world, id, rank), "ncclCommInitRank");
  return c.release();
}

void nccl_allreduce_sum_impl(void* comm, float* data, size_t count) {
  auto* c = static_cast<Communicator*>(comm);
  // After everything already queued on the default stream (the gradients).
  check(cudaEventRecord(c->ready, cudaStreamLegacy), "cudaEventRecord");
  check(cudaStreamWaitEvent(c->stream, c->ready, 0), "cudaStreamWaitEvent");
  check(usable().all_reduce(data, data, count, ncclFloat32, ncclSum, c->comm, c->stream),
        "ncclAllReduce");
}

void nccl_allreduce_sum_fp16_impl(void* comm, float* data, float* residual, void* half_buf,
                                  float* scratch, size_t count) {
  auto* c = static_cast<Communicator*>(comm);
  const Nccl& n = usable();
  check(cudaEventRecord(c->ready, cudaStreamLegacy), "cudaEventRecord");
  check(cudaStreamWaitEvent(c->stream, c->ready, 0), "cudaStreamWaitEvent");
  // One scale for every rank (from the global max), so the halves add up.
  fp16_prepare(data, residual, scratch, count, c->stream);
  check(n.all_reduce(scratch, scratch, 1, ncclFloat32, ncclMax, c->comm, c->stream),
        "ncclAllReduce (max)");
  fp16_compress(data, residual, half_buf, scratch, c->world, count, c->stream);
  check(n.all_reduce(half_buf, half_buf, count, ncclFloat16, ncclSum, c->comm, c->stream),
        "ncclAllReduce (fp16)");
  fp16_expand(half_buf, data, scratch, c->world, count, c->stream);
  check(cudaGetLastError(), "fp16 compression kernels");
}

void nccl_wait_impl(void* comm) {
  auto* c = static_cast<Communicator*>(comm);
  check(cudaStreamSynchronize(c->stream), "cudaStreamSynchronize");
  ncclResult_t async = ncclSuccess;
  check(usable().get_async_error(c->comm, &async), "ncclCommGetAsyncError");
  check(async, "all-reduce (asynchronous error)");
}

void nccl_destroy_impl(void* comm) {
  auto* c = static_cast<Communicator*>(comm);
  if (c == nullptr) return;
  const Nccl& n = nccl();
  if (c->comm != nullptr && n.comm_abort != nullptr) n.comm_abort(c->comm);  // never hangs
  if (c->ready != nullptr) cudaEventDestroy(c->ready);
  if (c->stream != nullptr) cudaStreamDestroy(c->stream);
  delete c;
}

}  // namespace ringmaster::ops::cuda
