// Data-parallel training through the parameter server (sync.mode "ps") as a
// GradientSync: the shards hold the weights and step the optimizer; every
// step this rank pushes its gradient and pulls the new weights (BSP, or SSP
// with sync.staleness). Gradients are seeded with (this rank's share of the
// global batch x world size), so the shards' mean over the ranks is the
// global batch's mean gradient, as with the all-reduce. Rank 0 evaluates the
// whole test set and reports; the others evaluate nothing, and report their
// own share of the training figures (there is no ring to sum over).
#include <chrono>
#include <cstring>
#include <memory>

#include "comm/metrics.h"
#include "comm/ps_client.h"
#include "comm/transport.h"
#include "ops/check.h"
#include "training/gradient_sync.h"

namespace ringmaster::training {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ", tensors through shared memory (N of M shards)" when shards on this host
// offered segments (comm/ps_client.h), "" when everything goes on the wire.
std::string shared_memory_note(int on_shm, size_t shards) {
  if (on_shm == 0) return "";
  return ", tensors through shared memory (" + std::to_string(on_shm) + " of " +
         std::to_string(shards) + " shards)";
}

class PsSync : public GradientSync {
 public:
  // Meets the peers (for the shards' endpoints: the coordinator's, else
  // dp.ps_servers), joins the job on the shards (rank 0 seeds the weights)
  // and pulls the starting weights into the trainable parameters.
  PsSync(const JobSpec& spec, const DataParallel& dp, models::Module& model,
         int64_t steps_per_epoch);

  std::string describe() const override { return describe_; }
  void begin_step(double share) override { share_ = share; }
  double backward_seed() const override { return share_ * world_; }
  ops::LeafGradHook backward_hook() override { return {}; }
  // Pushes .grad() (zeros where undefined), pulls the weights of step + 1.
  bool finish_step(int64_t step, const std::function<bool()>&) override;
  EvalShare eval_share() const override { return {0, rank_ == 0 ? 1 : 0}; }
  std::vector<double> sum(const std::vector<double>& values) override { return values; }
  // Rank 0 alone evaluates and saves, with its own statistics.
  void average(std::vector<ops::Tensor>&) override {}
  bool holds_optimizer_state() const override { return false; }
  SyncStats stats() const override { return stats_; }
  void finish() override;

 private:
  void load(const comm::PsTensors& weights);

  std::vector<std::pair<std::string, ops::Tensor>> params_;
  int rank_ = 0, world_ = 1;
  double share_ = 1.0;
  size_t shards_ = 0;
  comm::Compression compression_;
  std::string describe_;
  uint64_t f32_bytes_ = 0;  // the parameters' size in f32
  comm::Context ctx_;
  std::unique_ptr<comm::ParameterServerClient> client_;
  comm::PsTensors pulled_;
  SyncStats stats_;
};

PsSync::PsSync(const JobSpec& spec, const DataParallel& dp, models::Module& model,
               int64_t steps_per_epoch)
    : rank_(dp.rank), world_(dp.world_size), compression_(spec.sync.compression) {
  RM_THROW_IF(spec.train.precision == Precision::kFp16, "train.precision \"fp16\" with ",
              "sync.mode \"ps\" is not supported (use sync.mode \"allreduce\")");
  RM_THROW_IF(!dp.rendezvous, "data-parallel training needs a rendezvous");
  for (const auto& [name, p] : model.named_parameters())
    if (p.requires_grad()) params_.emplace_back(name, p);
  const Peers peers = dp.rendezvous("ps", "");  // no ring: the endpoint only marks arrival
  const std::vector<std::string>& shards = peers.ps.empty() ? dp.ps_servers : peers.ps;
  RM_THROW_IF(shards.empty(), "sync.mode \"ps\" needs parameter-server shards: the coordinator ",
              "hosts them for cluster jobs; `ringmaster train` takes --ps ENDPOINT,...");
  shards_ = shards.size();
  std::vector<comm::PsKey> keys;
  for (const auto& [name, p] : params_) {
    keys.push_back({name, p.numel()});
    f32_bytes_ += static_cast<uint64_t>(p.numel()) * sizeof(float);
  }
  comm::PsClientOptions o;
  o.job_id = dp.job_id.empty() ? spec.name : dp.job_id;
  o.rank = dp.rank;
  o.world = dp.world_size;
  o.mode = spec.sync.staleness > 0 ? comm::PsMode::kSsp : comm::PsMode::kBsp;
  o.staleness = static_cast<int>(spec.sync.staleness);
  o.compression = spec.sync.compression;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(spec.sync.timeout_s * 1000.0));
  // The optimizer and schedule for a standalone `ringmaster ps` (a
  // coordinator's shards use the spec it holds), and the steps per epoch the
  // schedule counts in, which only the workers know.
  o.update = {{"optimizer", spec.source.value("optimizer", nlohmann::json::object())},
              {"steps_per_epoch", steps_per_epoch}};
  if (!spec.lr_schedule.empty()) o.update["lr_schedule"] = spec.lr_schedule;
  o.cancel = dp.cancel;
  o.curve_public_key = dp.ring_public_key;  // the job's keys, with CURVE
  o.curve_secret_key = dp.ring_secret_key;
  client_ = std::make_unique<comm::ParameterServerClient>(ctx_, shards, keys, o);
  comm::PsTensors weights;
  for (const auto& [name, p] : params_) weights[name] = p.to(ops::Device::cpu()).to_plain();
  client_->init(dp.rank == 0 ? &weights : nullptr);
  client_->pull(0, pulled_);
  load(pulled_);
  describe_ = "data-parallel: rank " + std::to_string(rank_) + " of " + std::to_string(world_) +
              ", parameter server (" + std::to_string(shards_) + " shard(s), " +
              (spec.sync.staleness > 0 ? "SSP staleness " + std::to_string(spec.sync.staleness)
                                       : std::string("BSP")) +
              ")" + shared_memory_note(client_->shared_memory_shards(), shards_) +
              ", compression " + comm::to_string(spec.sync.compression) + ", global batch " +
              std::to_string(spec.train.batch_size) +
              "; train loss and accuracy are this rank's share";
}

void PsSync::load(const comm::PsTensors& weights) {
  for (auto& [name, p] : params_) {
    auto it = weights.find(name);
    RM_CHECK(it != weights.end(), "the parameter server sent no ", name);
    ops::Tensor w = it->second.reshape(p.shape());
    p.set_data(p.device().is_cuda() ? w.to(p.device()) : w.clone());
  }
}

bool PsSync::finish_step(int64_t step, const std::function<bool()>&) {
  const auto start = Clock::now();
  comm::PsTensors grads;
  for (const auto& [name, p] : params_)
    grads[name] = p.grad().defined() ? p.grad().to(ops::Device::cpu()).to_plain()
                                     : ops::Tensor::zeros(p.shape());
  const comm::WireCounters before = client_->counters();
  client_->push(step, grads);
  client_->pull(step + 1, pulled_);
  load(pulled_);
  const double s = seconds_since(start);
  const comm::WireCounters wire = client_->counters() - before;
  stats_.bytes_on_wire += static_cast<int64_t>(wire.sent_bytes);
  // Wire: every frame of the push and the pull, both ways; payload: the
  // gradients pushed and the weights pulled, both in f32.
  comm::record_parameter_server(s, wire.sent_bytes + wire.received_bytes, 2 * f32_bytes_,
                                compression_);
  ++stats_.steps;
  stats_.comm_seconds += s;
  stats_.wait_seconds += s;
  return true;
}

void PsSync::finish() {
  try {
    client_->finish();
  } catch (const std::exception&) {
    // The shards drop the job on their own once its ranks are gone.
  }
}

}  // namespace

std::unique_ptr<GradientSync> make_ps_sync(const JobSpec& spec, const DataParallel& dp,
                                           models::Module& model, int64_t steps_per_epoch) {
  return std::make_unique<PsSync>(spec, dp, model, steps_per_epoch);
}

}  // namespace ringmaster::training
