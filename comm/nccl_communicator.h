// NCCL all-reduce between GPU ranks (one GPU each), as data-parallel training
// uses it: rank 0 makes the unique id, which travels to the other ranks
// through the coordinator's rendezvous (or any other channel), and every rank
// joins the communicator with it. All-reduces run on the communicator's own
// stream after the work already queued on the default stream, so a bucket's
// reduction overlaps the rest of backward; wait() blocks until all are done,
// or gives up (aborting the communicator) at its deadline or cancel flag.
// The NCCL library is loaded only here, on first use (ops/cuda/nccl.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

namespace ringmaster::comm {

class NcclCommunicator {
 public:
  // Empty when NCCL can be used in this process; otherwise the reason.
  static std::string unavailable_reason();
  // A fresh unique id, as printable hex (rank 0 calls this).
  static std::string make_unique_id();

  // Joins (blocks until all `world` ranks have). Throws ops::Error.
  NcclCommunicator(int world, int rank, const std::string& unique_id_hex, int device = 0);
  ~NcclCommunicator();
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

  // Queues an in-place sum of `count` floats of device memory; returns at once.
  void allreduce_sum(float* device_data, size_t count);
  // The same with fp16 on the wire: one power-of-two scale from the global
  // max |x| (so the halves of all ranks add up without overflow), and error
  // feedback: `residual` (count floats, zeros at first) is added in and
  // refilled with this rank's rounding error. `half_buf`: count halves;
  // `scratch`: one float. All device memory, kept by the caller per bucket.
  void allreduce_sum_fp16(float* device_data, float* residual, void* half_buf, float* scratch,
                          size_t count);
  // Blocks until every queued all-reduce is done; throws ops::Error (with
  // NCCL's message) when one failed. Gives up, throwing ops::Error, when they
  // are not done within `timeout` (a peer stopped, or died unnoticed) or once
  // `*cancel` is set (null: no flag); the communicator is then aborted and
  // every later call throws.
  void wait(std::chrono::milliseconds timeout, const std::atomic<bool>* cancel = nullptr);

 private:
  void* comm_ = nullptr;
};

}  // namespace ringmaster::comm
