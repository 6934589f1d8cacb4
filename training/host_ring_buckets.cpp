// Host buckets over the ZeroMQ ring (see bucket_backend.h): gradients are
// copied to host memory scaled by the rank's weight, and each bucket's ring
// all-reduce runs on the AsyncAllreducer's thread while backward goes on.
#include <algorithm>
#include <cstring>

#include "ops/check.h"
#include "training/bucket_backend.h"

namespace ringmaster::training {
namespace {

class HostRingBuckets : public BucketBackend {
 public:
  explicit HostRingBuckets(comm::AsyncAllreducer& async) : async_(async) {}

  void add_bucket(size_t elements) override { buffers_.emplace_back(elements); }
  double backward_seed(double) const override { return 1.0; }
  void copy_in(size_t b, size_t offset, size_t numel, const ops::Tensor* grad,
               double weight) override {
    float* dst = buffers_[b].data() + offset;
    if (grad == nullptr || !grad->defined()) {
      std::fill(dst, dst + numel, 0.0f);
      return;
    }
    ops::Tensor g = grad->to(ops::Device::cpu()).to_plain();
    RM_CHECK(static_cast<size_t>(g.numel()) == numel, "gradient has ", g.numel(),
             " elements, expected ", numel);
    const float* src = g.data<float>();
    const auto w = static_cast<float>(weight);
    for (size_t i = 0; i < numel; ++i) dst[i] = src[i] * w;
  }
  void submit(size_t b) override { async_.submit(b, buffers_[b]); }
  std::vector<ReducedBucket> wait_all(Clock::time_point backward_end) override {
    async_.wait_all();
    std::vector<ReducedBucket> out;
    for (const comm::BucketTiming& t : async_.take_timings())
      out.push_back({t.elements, std::chrono::duration<double>(t.finished - t.started).count(),
                     t.started < backward_end, t.wire.sent_bytes, t.wire.received_bytes, true});
    return out;
  }
  ops::Tensor copy_out(size_t b, size_t offset, const ops::Tensor& param) override {
    ops::Tensor g = ops::Tensor::empty(param.shape(), ops::DType::f32, ops::Device::cpu());
    std::memcpy(g.data<float>(), buffers_[b].data() + offset,
                static_cast<size_t>(g.numel()) * sizeof(float));
    return param.device().is_cpu() ? g : g.to(param.device());
  }
  std::string describe(const std::string& ring_endpoint) const override {
    return "ring all-reduce on " + ring_endpoint;
  }

 private:
  comm::AsyncAllreducer& async_;
  std::vector<std::vector<float>> buffers_;
};

}  // namespace

std::unique_ptr<BucketBackend> make_host_ring_buckets(comm::AsyncAllreducer& async) {
  return std::make_unique<HostRingBuckets>(async);
}

}  // namespace ringmaster::training
