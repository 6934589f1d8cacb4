// GradientReducer (see header): buckets, the backward hook, and the ring.
#include "training/gradient_reducer.h"

#include <algorithm>
#include <cstring>

#include "comm/metrics.h"
#include "comm/nccl_communicator.h"
#include "comm/zmq_ring_transport.h"
#include "ops/check.h"

namespace ringmaster::training {
namespace {
using Clock = std::chrono::steady_clock;
double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

GradientReducer::GradientReducer(std::vector<ops::Tensor> params, const DataParallel& dp,
                                 const SyncSpec& sync)
    : params_(std::move(params)),
      world_(dp.world_size),
      fp16_(sync.compression == comm::Compression::kFp16),
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
    if (buckets_.empty() || (buckets_.back().elements + n > cap && !buckets_.back().slots.empty()))
      buckets_.emplace_back();
    Bucket& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    slot_of_[k] = b.slots.size();
    b.slots.push_back({k, b.elements, n});
    b.elements += n;
  }
  // GPU parameters go through NCCL (rank 0's unique id travels with the
  // rendezvous), fp16 compression included; the ring stays for broadcasts
  // and metrics.
  const bool on_gpu = !params_.empty() && params_.front().device().is_cuda();
  const std::string nccl_missing =
      on_gpu ? comm::NcclCommunicator::unavailable_reason() : std::string("not on a GPU");
  const bool want_nccl = on_gpu && nccl_missing.empty();
  comm::ZmqRingOptions ring;
  ring.generation = dp.generation;
  ring.cancel = dp.cancel;
  if (!dp.ring_secret_key.empty()) {
    ring.curve_public_key = dp.ring_public_key;
    ring.curve_secret_key = dp.ring_secret_key;
    zap_ = std::make_unique<comm::ZapAuthenticator>(
        ctx_, comm::ZapAuthenticator::admit_only("ring", dp.ring_public_key));
  }
  auto transport = std::make_unique<comm::ZmqRingTransport>(ring);
  endpoint_ = transport->listen(ctx_, dp.host);
  const Peers peers = dp.rendezvous(
      endpoint_, want_nccl && dp.rank == 0 ? comm::NcclCommunicator::make_unique_id() : "");
  RM_THROW_IF(!want_nccl && !peers.nccl_id.empty(), "rank 0 all-reduces over NCCL, but rank ",
              dp.rank, " cannot: ", nccl_missing);
  RM_THROW_IF(static_cast<int>(peers.ring.size()) != dp.world_size, "rendezvous returned ",
              peers.ring.size(), " ring endpoints for a world of ", dp.world_size);
  transport->connect(dp.rank, peers.ring, timeout_);
  transport_ = transport.get();
  comm::AsyncAllreducerOptions o;
  o.allreduce.compression = sync.compression;
  o.allreduce.timeout = timeout_;
  o.average = false;  // gradients arrive pre-weighted by each rank's share
  async_ = std::make_unique<comm::AsyncAllreducer>(std::move(transport), o);
  comm::AllreduceOptions exact;
  exact.compression = comm::Compression::kNone;
  exact.timeout = timeout_;
  exact_ = std::make_unique<comm::RingAllreduce>(*transport_, exact);
  backend_ =
      want_nccl && !peers.nccl_id.empty()
          ? make_nccl_buckets(dp.world_size, dp.rank, peers.nccl_id, params_.front().device(),
                              sync.compression, timeout_, dp.cancel)
          : make_host_ring_buckets(*async_);
  for (const Bucket& b : buckets_) backend_->add_bucket(b.elements);
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

void GradientReducer::average(std::vector<ops::Tensor>& tensors) {
  // One exact sum over all of them (f32 on the wire, identical on every rank
  // after the ring's all-gather), then the same division everywhere.
  std::vector<float> v;
  std::vector<ops::Tensor> plain;
  for (ops::Tensor& t : tensors) {
    RM_THROW_IF(t.dtype() != ops::DType::f32, "average: only f32 tensors");
    plain.push_back(t.to(ops::Device::cpu()).to_plain());
    const std::vector<float> x = plain.back().to_vector();
    v.insert(v.end(), x.begin(), x.end());
  }
  if (v.empty()) return;
  exact_->sum(v, (1ull << 62) - 2);
  const auto world = static_cast<float>(world_);
  size_t at = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto n = static_cast<size_t>(plain[i].numel());
    std::vector<float> mean(v.begin() + static_cast<std::ptrdiff_t>(at),
                            v.begin() + static_cast<std::ptrdiff_t>(at + n));
    for (float& x : mean) x /= world;
    at += n;
    tensors[i].set_data(ops::Tensor::from_vector(mean, tensors[i].shape()).to(tensors[i].device()));
  }
}

void GradientReducer::begin_step(double weight) {
  weight_ = weight;
  next_submit_ = 0;
  std::fill(seen_.begin(), seen_.end(), false);
  for (Bucket& b : buckets_) b.ready = 0;
}

ops::LeafGradHook GradientReducer::hook() {
  return [this](const ops::Tensor& leaf) { on_leaf(leaf); };
}

void GradientReducer::copy_in(size_t param, const ops::Tensor* grad) {
  Bucket& b = buckets_[bucket_of_[param]];
  const Slot& s = b.slots[slot_of_[param]];
  backend_->copy_in(bucket_of_[param], s.offset, s.numel, grad, weight_);
  seen_[param] = true;
  ++b.ready;
}

void GradientReducer::on_leaf(const ops::Tensor& leaf) {
  auto it = index_of_.find(leaf.id());
  if (it == index_of_.end() || seen_[it->second]) return;  // not ours (or reported already)
  copy_in(it->second, &leaf.grad());
  submit_ready();
}

void GradientReducer::submit_ready() {
  while (next_submit_ < buckets_.size() &&
         buckets_[next_submit_].ready == buckets_[next_submit_].slots.size())
    backend_->submit(next_submit_++);
}

void GradientReducer::count_bucket(const ReducedBucket& r) {
  ++stats_.buckets;
  stats_.comm_seconds += r.seconds;
  stats_.bytes_on_wire += static_cast<int64_t>(r.sent_bytes);
  // Payload: the f32 bytes the bucket's all-reduce stands for, each way
  // (a ring moves 2 (n - 1) / n of the bucket), so wire / payload is the
  // compression ratio (headers make it a little above 1 or 1/2).
  const auto each_way =
      static_cast<uint64_t>(r.elements * sizeof(float) * 2 * static_cast<size_t>(world_ - 1) /
                            static_cast<size_t>(world_));
  comm::record_allreduce(r.seconds, r.sent_bytes + r.received_bytes, 2 * each_way,
                         fp16_ ? comm::Compression::kFp16 : comm::Compression::kNone);
}

void GradientReducer::finish_step() {
  const auto backward_end = Clock::now();
  // Parameters backward did not reach (or an empty share): zero gradients.
  for (size_t k = 0; k < params_.size(); ++k)
    if (!seen_[k]) copy_in(k, params_[k].grad().defined() ? &params_[k].grad() : nullptr);
  submit_ready();
  RM_CHECK(next_submit_ == buckets_.size(), "a gradient bucket was not submitted");
  for (const ReducedBucket& r : backend_->wait_all(backward_end)) {
    count_bucket(r);
    if (r.started_before_backward_end) ++stats_.buckets_started_before_backward_end;
  }
  stats_.wait_seconds += seconds(Clock::now() - backward_end);
  ++stats_.steps;
  // The reduced gradients, from the buckets.
  for (size_t k = 0; k < params_.size(); ++k) {
    const Slot& s = buckets_[bucket_of_[k]].slots[slot_of_[k]];
    params_[k].set_grad(backend_->copy_out(bucket_of_[k], s.offset, params_[k]));
  }
}

}  // namespace ringmaster::training
