// PsSync (see header).
#include "worker/ps_sync.h"

#include <chrono>
#include <cstring>

#include "comm/metrics.h"
#include "ops/check.h"

namespace ringmaster::worker {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}
}  // namespace

PsSync::PsSync(std::vector<std::pair<std::string, ops::Tensor>> params, const DataParallel& dp,
               const models::JobSpec& spec, int64_t steps_per_epoch)
    : params_(std::move(params)), world_(dp.world_size), fp16_(spec.sync.compression == "fp16") {
  RM_THROW_IF(!dp.rendezvous, "data-parallel training needs a rendezvous");
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
  o.compression =
      spec.sync.compression == "fp16" ? comm::PsCompression::kFp16 : comm::PsCompression::kNone;
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(spec.sync.timeout_s * 1000.0));
  // The optimizer and schedule for a standalone `ringmaster ps` (a
  // coordinator's shards use the spec it holds), and the steps per epoch the
  // schedule counts in, which only the workers know.
  o.update = {{"optimizer", spec.source.value("optimizer", nlohmann::json::object())},
              {"steps_per_epoch", steps_per_epoch}};
  if (!spec.lr_schedule.empty()) o.update["lr_schedule"] = spec.lr_schedule;
  client_ = std::make_unique<comm::ParameterServerClient>(ctx_, shards, keys, o);
  comm::PsTensors weights;
  for (const auto& [name, p] : params_) weights[name] = p.to(ops::Device::cpu()).to_plain();
  client_->init(dp.rank == 0 ? &weights : nullptr);
  client_->pull(0, pulled_);
  load(pulled_);
}

PsSync::~PsSync() = default;

void PsSync::load(const comm::PsTensors& weights) {
  for (auto& [name, p] : params_) {
    auto it = weights.find(name);
    RM_CHECK(it != weights.end(), "the parameter server sent no ", name);
    ops::Tensor w = it->second.reshape(p.shape());
    p.set_data(p.device().is_cuda() ? w.to(p.device()) : w.clone());
  }
}

void PsSync::step(int64_t step) {
  const auto start = Clock::now();
  comm::PsTensors grads;
  for (const auto& [name, p] : params_)
    grads[name] = p.grad().defined() ? p.grad().to(ops::Device::cpu()).to_plain()
                                     : ops::Tensor::zeros(p.shape());
  client_->push(step, grads);
  const auto pushed = static_cast<uint64_t>(client_->last_push_bytes());
  stats_.bytes_on_wire += static_cast<int64_t>(pushed);
  client_->pull(step + 1, pulled_);
  load(pulled_);
  const double s = seconds_since(start);
  // Wire: the gradients pushed and the f32 weights pulled; payload: both in f32.
  comm::record_parameter_server(s, pushed + f32_bytes_, 2 * f32_bytes_,
                                fp16_ ? comm::Compression::kFp16 : comm::Compression::kNone);
  ++stats_.steps;
  stats_.comm_seconds += s;
  stats_.wait_seconds += s;
}

void PsSync::finish() {
  try {
    client_->finish();
  } catch (const std::exception&) {
    // The shards drop the job on their own once its ranks are gone.
  }
}

}  // namespace ringmaster::worker
