// NCCL all-reduce for data-parallel training on GPUs (the ops layer's public
// interface for comm's NcclCommunicator), through the CUDA backend (which loads libnccl.so.2 on
// first use, so neither the core nor a CPU-only process ever maps it). Each communicator has its
// own non-blocking stream: an all-reduce waits (by event) for the work already queued on the
// default stream, where every op runs, then runs beside the work queued after
// it; nccl_wait() blocks the host until the communicator's all-reduces are
// done, or gives up at its deadline or cancel flag. Errors (no NCCL, a failed
// call, an asynchronous NCCL error such as a lost peer) throw ops::Error with
// NCCL's message.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ringmaster::ops {

// Empty when NCCL can be used here; otherwise why not (no GPU, no library).
std::string nccl_unavailable_reason();
// A fresh unique id (rank 0 makes it; every rank passes it to nccl_init).
std::string nccl_unique_id();
// Joins the communicator of `world` ranks (blocks until all have joined).
void* nccl_init(int world, const std::string& unique_id, int rank, int device);
// In-place sum of `count` floats in device memory, queued on the stream.
void nccl_allreduce_sum(void* comm, float* data, size_t count);
// The same with fp16 on the wire: `residual` (count floats, zero at first)
// is added in and refilled with this rank's rounding error (error feedback);
// `half_buf` holds count halves, `scratch` one float. All device memory.
void nccl_allreduce_sum_fp16(void* comm, float* data, float* residual, void* half_buf,
                             float* scratch, size_t count);
// Blocks until the communicator's queued all-reduces are done. Gives up when
// they are not done within `timeout_ms` (a peer stopped, or died without
// NCCL noticing) or once `*cancel` is set (null: no flag): the communicator
// is then aborted (ncclCommAbort ends its kernels; every later call on it
// throws) and ops::Error says which it was. Work already done wins over
// both. An asynchronous NCCL error aborts it too.
void nccl_wait(void* comm, int64_t timeout_ms, const std::atomic<bool>* cancel);
void nccl_destroy(void* comm);

}  // namespace ringmaster::ops
