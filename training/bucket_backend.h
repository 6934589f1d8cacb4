// Where the GradientReducer's buckets live and how they are summed over the
// ranks: host memory over the ZeroMQ ring (host_ring_buckets.cpp), or GPU
// memory over NCCL (nccl_buckets.cpp). The reducer owns the bucket layout,
// the backward hook and the order of submission; a backend owns the buffers
// and the collective. Used from the training thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "comm/async_allreducer.h"
#include "comm/compression.h"
#include "ops/tensor.h"

namespace ringmaster::training {

// How long a bucket's all-reduce took, whether it started before backward
// ended (the overlap), and the bytes it sent and received: counted by the
// transport on the host ring; computed on NCCL, whose traffic we cannot see
// (2 (n - 1) / n of the bucket each way, as a ring all-reduce moves).
struct ReducedBucket {
  size_t elements = 0;
  double seconds = 0.0;
  bool started_before_backward_end = false;
  uint64_t sent_bytes = 0, received_bytes = 0;
  bool wire_counted = false;  // false: sent/received_bytes are computed
};

class BucketBackend {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~BucketBackend() = default;

  // Buckets are added once, in bucket order, before the first step.
  virtual void add_bucket(size_t elements) = 0;
  // What backward is seeded with for a rank whose share of the batch is
  // `weight`: 1 where copy_in scales the gradient, else the weight itself.
  virtual double backward_seed(double weight) const = 0;
  // Writes grad x weight (zeros when grad is null or undefined) at
  // [offset, offset + numel) of bucket b.
  virtual void copy_in(size_t b, size_t offset, size_t numel, const ops::Tensor* grad,
                       double weight) = 0;
  // Starts bucket b's all-reduce (buckets are submitted in order).
  virtual void submit(size_t b) = 0;
  // Waits for every submitted bucket. Throws comm::CommError when a peer fails.
  virtual std::vector<ReducedBucket> wait_all(Clock::time_point backward_end) = 0;
  // The reduced values at [offset, offset + param.numel()) of bucket b as a
  // tensor of param's shape on param's device.
  virtual ops::Tensor copy_out(size_t b, size_t offset, const ops::Tensor& param) = 0;
  // "ring all-reduce on ENDPOINT", or NCCL's, for the log.
  virtual std::string describe(const std::string& ring_endpoint) const = 0;
};

// Host buckets, all-reduced by `async` (which must outlive the backend).
std::unique_ptr<BucketBackend> make_host_ring_buckets(comm::AsyncAllreducer& async);
// GPU buckets on `device`, all-reduced by NCCL (rank 0's unique id in hex),
// fp16 on the wire with error feedback when compression says so. A step's
// wait gives up (comm::CommError) after `timeout` or once `*cancel` is set.
std::unique_ptr<BucketBackend> make_nccl_buckets(int world, int rank, const std::string& nccl_id,
                                                 ops::Device device, comm::Compression compression,
                                                 std::chrono::milliseconds timeout,
                                                 const std::atomic<bool>* cancel);

}  // namespace ringmaster::training
