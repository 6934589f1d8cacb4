// GPU buckets over NCCL (see bucket_backend.h): gradients stay on the device
// (the rank's weight comes in with backward's seed), each bucket's
// all-reduce is queued on NCCL's stream as soon as it is full, and with fp16
// compression a per-bucket residual keeps the rounding error on the device
// for the next step. One wait covers every bucket of a step; it gives up at
// sync.timeout_s or the run's cancel, like the ring's.
#include "comm/comm_error.h"
#include "comm/nccl_communicator.h"
#include "ops/check.h"
#include "ops/device_memory.h"
#include "training/bucket_backend.h"

namespace ringmaster::training {
namespace {

class NcclBuckets : public BucketBackend {
 public:
  NcclBuckets(int world, int rank, const std::string& nccl_id, ops::Device device,
              comm::Compression compression, std::chrono::milliseconds timeout,
              const std::atomic<bool>* cancel)
      : nccl_(world, rank, nccl_id, device.index),
        device_(device),
        fp16_(compression == comm::Compression::kFp16),
        world_(world),
        timeout_(timeout),
        cancel_(cancel) {}

  void add_bucket(size_t elements) override {
    const auto n = static_cast<int64_t>(elements);
    Bucket b;
    b.data = ops::Tensor::empty({n}, ops::DType::f32, device_);
    if (fp16_) {
      b.residual = ops::Tensor::zeros({n}, ops::DType::f32, device_);
      b.halves = ops::Tensor::empty({n}, ops::DType::f16, device_);
      b.scratch = ops::Tensor::empty({1}, ops::DType::f32, device_);
    }
    buckets_.push_back(std::move(b));
  }
  double backward_seed(double weight) const override { return weight; }
  void copy_in(size_t b, size_t offset, size_t numel, const ops::Tensor* grad, double) override {
    auto* dst = static_cast<float*>(buckets_[b].data.raw()) + offset;
    if (grad == nullptr || !grad->defined()) {
      ops::device_memset_zero(dst, numel * sizeof(float), device_);
      return;
    }
    ops::Tensor g = grad->to(device_).to_plain();
    RM_CHECK(static_cast<size_t>(g.numel()) == numel, "gradient has ", g.numel(),
             " elements, expected ", numel);
    ops::device_copy(dst, device_, g.raw(), device_, numel * sizeof(float));
  }
  void submit(size_t b) override {
    Bucket& bucket = buckets_[b];
    auto* data = static_cast<float*>(bucket.data.raw());
    const auto n = static_cast<size_t>(bucket.data.numel());
    if (fp16_)
      nccl_.allreduce_sum_fp16(data, static_cast<float*>(bucket.residual.raw()),
                               bucket.halves.raw(), static_cast<float*>(bucket.scratch.raw()), n);
    else
      nccl_.allreduce_sum(data, n);
  }
  std::vector<ReducedBucket> wait_all(Clock::time_point backward_end) override {
    try {
      nccl_.wait(timeout_, cancel_);
    } catch (const ops::Error& e) {
      throw comm::CommError(e.what());
    }
    // One wait for all buckets: its time is shared out among them; every
    // bucket was queued while backward ran.
    const double waited = std::chrono::duration<double>(Clock::now() - backward_end).count();
    std::vector<ReducedBucket> out;
    for (const Bucket& b : buckets_) {
      const auto n = static_cast<uint64_t>(b.data.numel());
      // Computed: NCCL's traffic is not ours to count. A ring moves
      // 2 (world - 1) / world of the bucket each way.
      const uint64_t each_way = n * (fp16_ ? 2 : 4) * 2 * static_cast<uint64_t>(world_ - 1) /
                                static_cast<uint64_t>(world_);
      out.push_back({static_cast<size_t>(n), waited / static_cast<double>(buckets_.size()), true,
                     each_way, each_way, false});
    }
    return out;
  }
  ops::Tensor copy_out(size_t b, size_t offset, const ops::Tensor& param) override {
    ops::Tensor g = ops::Tensor::empty(param.shape(), ops::DType::f32, device_);
    ops::device_copy(g.raw(), device_, static_cast<const float*>(buckets_[b].data.raw()) + offset,
                     device_, static_cast<size_t>(g.numel()) * sizeof(float));
    return g.device() == param.device() ? g : g.to(param.device());
  }
  std::string describe(const std::string& ring_endpoint) const override {
    return "nccl all-reduce (ring on " + ring_endpoint + " for broadcasts and metrics)";
  }

 private:
  struct Bucket {
    ops::Tensor data;                       // the bucket in GPU memory
    ops::Tensor residual, halves, scratch;  // fp16: error feedback, wire, max
  };
  comm::NcclCommunicator nccl_;
  ops::Device device_;
  bool fp16_;
  int world_;
  std::chrono::milliseconds timeout_;
  const std::atomic<bool>* cancel_;
  std::vector<Bucket> buckets_;
};

}  // namespace

std::unique_ptr<BucketBackend> make_nccl_buckets(int world, int rank, const std::string& nccl_id,
                                                 ops::Device device, comm::Compression compression,
                                                 std::chrono::milliseconds timeout,
                                                 const std::atomic<bool>* cancel) {
  return std::make_unique<NcclBuckets>(world, rank, nccl_id, device, compression, timeout, cancel);
}

}  // namespace ringmaster::training
