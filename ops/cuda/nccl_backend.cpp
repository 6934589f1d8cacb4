// The CUDA backend's NCCL entry points (see ops/cuda/nccl.h): libnccl.so.2 is
// dlopen'ed on first use, so the backend itself has no link-time dependency
// on NCCL. Types and constants come from nccl.h.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nccl.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

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
  std::string aborted;  // why a wait aborted it (empty: usable)
};

// Every call on an aborted communicator throws, naming why it was aborted.
Communicator& live(void* comm) {
  auto* c = static_cast<Communicator*>(comm);
  if (!c->aborted.empty())
    throw std::runtime_error("the NCCL communicator was aborted: " + c->aborted);
  return *c;
}

// ncclCommAbort ends the communicator's kernels, so its stream can drain.
void abort_communicator(Communicator& c, const std::string& why) {
  if (c.comm != nullptr) nccl().comm_abort(c.comm);
  c.comm = nullptr;
  c.aborted = why;
}

void check_async_error(Communicator& c) {
  ncclResult_t async = ncclSuccess;
  check(usable().get_async_error(c.comm, &async), "ncclCommGetAsyncError");
  if (async == ncclSuccess) return;
  const std::string why =
      std::string("all-reduce (asynchronous error): ") + usable().error_string(async);
  abort_communicator(c, why);
  throw std::runtime_error("NCCL " + why);
}

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
  Communicator* c = &live(comm);
  // After everything already queued on the default stream (the gradients).
  check(cudaEventRecord(c->ready, cudaStreamLegacy), "cudaEventRecord");
  check(cudaStreamWaitEvent(c->stream, c->ready, 0), "cudaStreamWaitEvent");
  check(usable().all_reduce(data, data, count, ncclFloat32, ncclSum, c->comm, c->stream),
        "ncclAllReduce");
}

void nccl_allreduce_sum_fp16_impl(void* comm, float* data, float* residual, void* half_buf,
                                  float* scratch, size_t count) {
  Communicator* c = &live(comm);
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

// Polls instead of cudaStreamSynchronize, which has no deadline: a peer that
// stops (SIGSTOP, a partition) leaves NCCL's kernels spinning for ever.
void nccl_wait_impl(void* comm, int64_t timeout_ms, const std::atomic<bool>* cancel) {
  Communicator& c = live(comm);
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  for (int polls = 0;; ++polls) {
    const cudaError_t q = cudaStreamQuery(c.stream);
    if (q == cudaSuccess) break;
    if (q != cudaErrorNotReady) check(q, "cudaStreamQuery");
    check_async_error(c);
    const bool cancelled = cancel != nullptr && cancel->load();
    if (cancelled || Clock::now() >= deadline) {
      const std::string why = cancelled ? "cancelled while waiting on the peers"
                                        : "not done within " + std::to_string(timeout_ms) +
                                              " ms (a peer stopped or died)";
      abort_communicator(c, why);
      throw std::runtime_error("NCCL all-reduce " + why + "; communicator aborted");
    }
    // Yield at first (the last bucket usually ends soon after backward),
    // then sleep, so a long wait does not take a core.
    if (polls < 1000)
      std::this_thread::yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  check_async_error(c);
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
