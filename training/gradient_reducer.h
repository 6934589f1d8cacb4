// Gradient all-reduce for data-parallel training, as PyTorch DDP does it:
// the trainable parameters are fused into buckets (sync.bucket_mb, filled in
// reverse registration order, which is roughly the order backward finishes
// them), and each bucket's ring all-reduce starts on a background thread as
// soon as backward has produced all of its gradients, while backward goes on
// with the earlier layers. Buckets go out strictly in bucket order, so every
// rank submits the same collectives in the same order. After the step every
// rank holds the same averaged gradient in .grad() (bitwise with compression
// "none"), so the same optimizer step keeps the replicas identical. Where the
// buckets live and which collective sums them is the BucketBackend's: the
// ZeroMQ ring on the host, or NCCL on GPUs (bucket_backend.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "comm/async_allreducer.h"
#include "comm/ring_allreduce.h"
#include "comm/transport.h"
#include "comm/zap_authenticator.h"
#include "comm/zmq_ring_transport.h"
#include "ops/autograd.h"
#include "ops/tensor.h"
#include "training/bucket_backend.h"
#include "training/data_parallel.h"
#include "training/job_spec.h"

namespace ringmaster::training {

class GradientReducer {
 public:
  // Listens on dp.host, meets the peers through dp.rendezvous, and connects
  // the ring. `params`: the trainable parameters (requires_grad) in
  // registration order, identical on every rank. Throws ops::Error or
  // comm::CommError when the ring cannot be formed.
  GradientReducer(std::vector<ops::Tensor> params, const DataParallel& dp, const SyncSpec& sync);
  ~GradientReducer();

  // Makes every rank's parameters (and any other tensors given) equal to
  // rank 0's, exactly. Call before training.
  void broadcast_from_rank0(std::vector<ops::Tensor> tensors);
  // Element-wise sum over ranks, exact (f32 on the wire), for metrics.
  std::vector<double> sum(const std::vector<double>& values);
  // Makes every rank's f32 `tensors` their mean over the ranks, the same bits
  // everywhere (batch-norm running statistics before evaluation).
  void average(std::vector<ops::Tensor>& tensors);

  // Starts a step. `weight`: this rank's share of the global batch
  // (samples here / samples in the global batch); gradients are scaled by
  // it, so the sum over ranks is the global batch's mean gradient.
  void begin_step(double weight);
  // The hook to install (ops::LeafGradHookGuard) around this rank's backward.
  ops::LeafGradHook hook();
  // What backward must be seeded with (instead of 1): the step's weight on
  // the NCCL path, which never touches the gradients on the host; 1 otherwise.
  double backward_seed() const { return backend_->backward_seed(weight_); }
  // "ring all-reduce on tcp://HOST:PORT", or the NCCL one beside the ring.
  std::string describe() const {
    return backend_->describe(endpoint_) + (zap_ ? ", ring encrypted (CURVE)" : "") +
           (transport_->sends_over_shared_memory() ? ", shared memory to the right neighbour"
                                                   : "") +
           (transport_->sends_over_tcp_stream() ? ", TCP stream to the right neighbour" : "");
  }
  // After backward (or instead of it, when this rank's share of the batch is
  // empty): sends the buckets still held back, waits for all, and writes the
  // reduced gradients into .grad(). Throws comm::CommError.
  void finish_step();

  int world_size() const { return world_; }
  const SyncStats& stats() const { return stats_; }
  size_t bucket_count() const { return buckets_.size(); }

 private:
  struct Slot {
    size_t param;   // index into params_
    size_t offset;  // first element in the bucket
    size_t numel;
  };
  struct Bucket {
    std::vector<Slot> slots;
    size_t elements = 0;
    size_t ready = 0;  // slots whose gradient is in the bucket this step
  };
  void on_leaf(const ops::Tensor& leaf);
  void copy_in(size_t param, const ops::Tensor* grad);
  void submit_ready();
  // Counts one reduced bucket in the stats and the metrics.
  void count_bucket(const ReducedBucket& r);

  std::vector<ops::Tensor> params_;
  std::unordered_map<const ops::TensorImpl*, size_t> index_of_;
  std::vector<size_t> bucket_of_, slot_of_;  // per parameter
  std::vector<bool> seen_;                   // per parameter, this step
  std::vector<Bucket> buckets_;
  size_t next_submit_ = 0;
  double weight_ = 1.0;
  int world_ = 1;
  bool fp16_ = false;
  std::chrono::milliseconds timeout_;

  std::string endpoint_;  // where this rank's ring listens
  comm::Context ctx_;     // before the transports that use it
  // With ring keys: the context's ZAP handler, admitting the job's key only.
  std::unique_ptr<comm::ZapAuthenticator> zap_;
  comm::ZmqRingTransport* transport_ = nullptr;
  std::unique_ptr<comm::AsyncAllreducer> async_;  // owns the transport
  std::unique_ptr<comm::RingAllreduce> exact_;    // between steps only (async_ is idle then)
  std::unique_ptr<BucketBackend> backend_;        // the buckets: host ring, or NCCL
  SyncStats stats_;
};

}  // namespace ringmaster::training
