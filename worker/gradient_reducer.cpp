// GradientReducer (see header): buckets, the backward hook, and the ring.
#include "worker/gradient_reducer.h"

#include <algorithm>
#include <cstring>

#include "comm/metrics.h"
#include "comm/zmq_ring_transport.h"
#include "ops/check.h"
#include "ops/cuda/cuda_memory.h"

namespace ringmaster::worker {
namespace {
using Clock = std::chrono::steady_clock;
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

GradientReducer::GradientReducer(std::vector<ops::Tensor> params, const DataParallel& dp,
                                 const models::SyncSpec& sync)
    : params_(std::move(params)),
      world_(dp.world_size),
      fp16_(sync.compression == "fp16"),
      timeout_(static_cast<int64_t>(sync.timeout_s * 1000.0)) {
  RM_THROW_IF(!dp.rendezvous, "data-parallel training needs a rendezvous");
  // Buckets: reverse registration order, each up to bucket_mb (at least one
  // parameter, however large).
  const auto cap =
      std::max<size_t>(1, static_cast<size_t>(sync.bucket_mb * 1024.0 * 1024.0 / sizeof(float)));
  bucket_of_.resize(params_.size());
  slot_of_.resize(params_.size());
  seen_.resize(params_.size());
  for (size_t k = params_.size(); k-- > 0;) {
    const ops::Tensor& p = params_[k];
    RM_THROW_IF(p.dtype() != ops::DType::f32, "data-parallel: parameter ", k, " is ",
                ops::dtype_name(p.dtype()), "; only f32 parameters are all-reduced");
    index_of_[p.id()] = k;
    const auto n = static_cast<size_t>(p.numel());
    if (buckets_.empty() ||
        (buckets_.back().buffer.size() + n > cap && !buckets_.back().slots.empty()))
      buckets_.emplace_back();
    Bucket& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    slot_of_[k] = b.slots.size();
    b.slots.push_back({k, b.buffer.size(), n});
    b.buffer.resize(b.buffer.size() + n);
  }
  // GPU parameters go through NCCL (rank 0's unique id travels with the
  // rendezvous), fp16 compression included; the ring stays for broadcasts
  // and metrics.
  const bool on_gpu = !params_.empty() && params_.front().device().is_cuda();
  const std::string nccl_missing =
      on_gpu ? comm::NcclCommunicator::unavailable_reason() : std::string("not on a GPU");
  const bool want_nccl = on_gpu && nccl_missing.empty();
  auto transport = std::make_unique<comm::ZmqRingTransport>();
  endpoint_ = transport->listen(ctx_, dp.host);
  const Peers peers = dp.rendezvous(
      endpoint_, want_nccl && dp.rank == 0 ? comm::NcclCommunicator::make_unique_id() : "");
  RM_THROW_IF(!want_nccl && !peers.nccl_id.empty(), "rank 0 all-reduces over NCCL, but rank ",
              dp.rank, " cannot: ", nccl_missing);
  RM_THROW_IF(static_cast<int>(peers.ring.size()) != dp.world_size, "rendezvous returned ",
              peers.ring.size(), " ring endpoints for a world of ", dp.world_size);
  transport->connect(dp.rank, peers.ring, timeout_);
  transport_ = transport.get();
  if (want_nccl && !peers.nccl_id.empty()) {
    nccl_ = std::make_unique<comm::NcclCommunicator>(dp.world_size, dp.rank, peers.nccl_id,
                                                     params_.front().device().index);
    for (Bucket& b : buckets_) {
      const auto n = static_cast<int64_t>(b.buffer.size());
      const ops::Device dev = params_.front().device();
      b.device_buffer = ops::Tensor::empty({n}, ops::DType::f32, dev);
      if (fp16_) {
        b.residual = ops::Tensor::zeros({n}, ops::DType::f32, dev);
        b.halves = ops::Tensor::empty({n}, ops::DType::f16, dev);
        b.scratch = ops::Tensor::empty({1}, ops::DType::f32, dev);
      }
      b.buffer = {};
    }
  }
  comm::AsyncAllreducerOptions o;
  o.allreduce.compression =
      sync.compression == "fp16" ? comm::Compression::kFp16 : comm::Compression::kNone;
  o.allreduce.timeout = timeout_;
  o.average = false;  // gradients arrive pre-weighted by each rank's share
  async_ = std::make_unique<comm::AsyncAllreducer>(std::move(transport), o);
  comm::AllreduceOptions exact;
  exact.compression = comm::Compression::kNone;
  exact.timeout = timeout_;
  exact_ = std::make_unique<comm::RingAllreduce>(*transport_, exact);
}

GradientReducer::~GradientReducer() = default;

void GradientReducer::broadcast_from_rank0(std::vector<ops::Tensor> tensors) {
  const bool root = transport_->rank() == 0;
  uint64_t tag = 1ull << 62;
  for (ops::Tensor& t : tensors) {
    ops::Tensor plain = t.to(ops::Device::cpu()).to_plain();
    RM_THROW_IF(plain.dtype() != ops::DType::f32, "broadcast: only f32 tensors");
    std::vector<float> v = plain.to_vector();
    if (!root) std::fill(v.begin(), v.end(), 0.0f);  // x + 0 + ... + 0 == x exactly
    exact_->sum(v, tag++);
    if (root) continue;
    ops::Tensor got = ops::Tensor::from_vector(v, t.shape());
    t.set_data(got.to(t.device()));
  }
}

std::vector<double> GradientReducer::sum(const std::vector<double>& values) {
  // f32 on the wire: exact for counts below 2^24, ~7 digits for loss sums.
  std::vector<float> v(values.begin(), values.end());
  exact_->sum(v, (1ull << 62) - 1);
  return {v.begin(), v.end()};
}

void GradientReducer::begin_step(double weight) {
  weight_ = weight;
  next_submit_ = 0;
  std::fill(seen_.begin(), seen_.end(), false);
  for (Bucket& b : buckets_) {
    b.ready = 0;
    b.submitted = false;
  }
}

ops::LeafGradHook GradientReducer::hook() {
  return [this](const ops::Tensor& leaf) { on_leaf(leaf); };
}

void GradientReducer::copy_in(size_t param, const ops::Tensor* grad) {
  Bucket& b = buckets_[bucket_of_[param]];
  const Slot& s = b.slots[slot_of_[param]];
  if (nccl_) {  // device to device; the weight came in with backward's seed
    auto* dst = static_cast<float*>(b.device_buffer.raw()) + s.offset;
    if (grad == nullptr || !grad->defined()) {
      ops::cuda::memset_zero(dst, s.numel * sizeof(float));
    } else {
      ops::Tensor g = grad->to(b.device_buffer.device()).to_plain();
      RM_CHECK(static_cast<size_t>(g.numel()) == s.numel, "gradient of parameter ", param, " has ",
               g.numel(), " elements, expected ", s.numel);
      ops::cuda::copy(dst, true, g.raw(), true, s.numel * sizeof(float));
    }
    seen_[param] = true;
    ++b.ready;
    return;
  }
  float* dst = b.buffer.data() + s.offset;
  if (grad == nullptr || !grad->defined()) {
    std::fill(dst, dst + s.numel, 0.0f);
  } else {
    ops::Tensor g = grad->to(ops::Device::cpu()).to_plain();
    RM_CHECK(static_cast<size_t>(g.numel()) == s.numel, "gradient of parameter ", param, " has ",
             g.numel(), " elements, expected ", s.numel);
    const float* src = g.data<float>();
    const auto w = static_cast<float>(weight_);
    for (size_t i = 0; i < s.numel; ++i) dst[i] = src[i] * w;
  }
  seen_[param] = true;
  ++b.ready;
}

void GradientReducer::on_leaf(const ops::Tensor& leaf) {
  auto it = index_of_.find(leaf.id());
  if (it == index_of_.end() || seen_[it->second]) return;  // not ours (or reported already)
  copy_in(it->second, &leaf.grad());
  submit_ready();
}

void GradientReducer::submit(size_t b) {
  Bucket& bucket = buckets_[b];
  if (nccl_) {
    if (fp16_)
      nccl_->allreduce_sum_fp16(static_cast<float*>(bucket.device_buffer.raw()),
                                static_cast<float*>(bucket.residual.raw()), bucket.halves.raw(),
                                static_cast<float*>(bucket.scratch.raw()),
                                static_cast<size_t>(bucket.device_buffer.numel()));
    else
      nccl_->allreduce_sum(static_cast<float*>(bucket.device_buffer.raw()),
                           static_cast<size_t>(bucket.device_buffer.numel()));
    bucket.submitted = true;
    ++stats_.buckets_started_before_backward_end;  // queued while backward runs
    return;
  }
  bucket.handle = async_->submit(b, bucket.buffer);
  bucket.submitted = true;
}

void GradientReducer::submit_ready() {
  while (next_submit_ < buckets_.size() &&
         buckets_[next_submit_].ready == buckets_[next_submit_].slots.size())
    submit(next_submit_++);
}

void GradientReducer::count_bucket(size_t elements, double comm_seconds) {
  const size_t element_bytes = fp16_ ? 2 : 4;
  // What a ring all-reduce sends per rank: 2 (n - 1) / n of the bucket.
  const auto wire = static_cast<uint64_t>(
      elements * element_bytes * 2 * static_cast<size_t>(world_ - 1) / static_cast<size_t>(world_));
  ++stats_.buckets;
  stats_.comm_seconds += comm_seconds;
  stats_.bytes_on_wire += static_cast<int64_t>(wire);
  comm::record_allreduce(comm_seconds, wire, wire * sizeof(float) / element_bytes,
                         fp16_ ? comm::Compression::kFp16 : comm::Compression::kNone);
}

void GradientReducer::finish_step() {
  const auto backward_end = Clock::now();
  // Parameters backward did not reach (or an empty share): zero gradients.
  for (size_t k = 0; k < params_.size(); ++k)
    if (!seen_[k]) copy_in(k, params_[k].grad().defined() ? &params_[k].grad() : nullptr);
  submit_ready();
  RM_CHECK(next_submit_ == buckets_.size(), "a gradient bucket was not submitted");
  if (nccl_) {
    try {
      nccl_->wait();
    } catch (const ops::Error& e) {
      throw comm::CommError(e.what());
    }
    // One wait for all buckets: its time is shared out among them.
    const double waited = seconds(Clock::now() - backward_end);
    stats_.wait_seconds += waited;
    for (const Bucket& b : buckets_)
      count_bucket(static_cast<size_t>(b.device_buffer.numel()),
                   waited / static_cast<double>(buckets_.size()));
  } else {
    async_->wait_all();
    stats_.wait_seconds += seconds(Clock::now() - backward_end);
    for (const comm::BucketTiming& t : async_->take_timings()) {
      count_bucket(t.elements, seconds(t.finished - t.started));
      if (t.started < backward_end) ++stats_.buckets_started_before_backward_end;
    }
  }
  ++stats_.steps;
  // The reduced gradients, from the bucket on the device or on the host.
  for (size_t k = 0; k < params_.size(); ++k) {
    const Bucket& b = buckets_[bucket_of_[k]];
    const Slot& s = b.slots[slot_of_[k]];
    ops::Tensor g = ops::Tensor::empty(params_[k].shape(), ops::DType::f32,
                                       nccl_ ? params_[k].device() : ops::Device::cpu());
    if (nccl_)
      ops::cuda::copy(g.raw(), true, static_cast<const float*>(b.device_buffer.raw()) + s.offset,
                      true, s.numel * sizeof(float));
    else
      std::memcpy(g.data<float>(), b.buffer.data() + s.offset, s.numel * sizeof(float));
    params_[k].set_grad(g.device() == params_[k].device() ? g : g.to(params_[k].device()));
  }
}

}  // namespace ringmaster::worker
