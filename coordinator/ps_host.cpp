// PsHost (shards per job on the coordinator) and the update factories that
// turn a job's optimizer spec into the shard's optimizer step.
#include "coordinator/ps_host.h"

#include "comm/transport.h"
#include "models/lr_schedule.h"
#include "models/optimizer.h"
#include "models/spec_optimizer.h"

namespace ringmaster::coordinator {
namespace {

comm::PsUpdate make_update(const PsUpdateConfig& config, comm::PsTensors& weights) {
  RM_THROW_IF(config.steps_per_epoch < 1, "steps_per_epoch must be >= 1");
  models::NamedTensors params;
  for (auto& [key, w] : weights) {
    w.set_requires_grad(true);  // the optimizer skips parameters that do not
    params.emplace_back(key, w);
  }
  struct State {
    std::unique_ptr<models::Optimizer> optimizer;
    models::LrSchedule schedule;
    int64_t steps_per_epoch;
  };
  auto state = std::make_shared<State>(State{
      models::make_optimizer(config.optimizer, std::move(params)),
      models::LrSchedule::from_json(
          config.lr_schedule.empty() ? nlohmann::json{{"type", "constant"}} : config.lr_schedule,
          config.optimizer.lr),
      config.steps_per_epoch});
  return [state](int64_t step, comm::PsTensors& w, const comm::PsTensors& grads) {
    for (auto& [key, t] : w) t.set_grad(grads.at(key));
    const int64_t spe = state->steps_per_epoch;
    state->optimizer->set_lr(state->schedule.lr_at(step / spe, step % spe, spe));
    state->optimizer->step();
  };
}

}  // namespace

PsUpdateConfig PsUpdateConfig::from_spec(const models::JobSpec& spec, int64_t steps_per_epoch) {
  PsUpdateConfig c;
  c.optimizer = spec.optimizer;
  c.lr_schedule = spec.lr_schedule;
  c.steps_per_epoch = steps_per_epoch;
  return c;
}

nlohmann::json PsUpdateConfig::to_json() const {
  const models::OptimizerSpec& o = optimizer;
  nlohmann::json opt = {{"name", o.name}, {"lr", o.lr}, {"weight_decay", o.weight_decay}};
  if (o.name == "sgd") {
    opt["momentum"] = o.momentum;
    opt["nesterov"] = o.nesterov;
  } else {
    opt["beta1"] = o.beta1;
    opt["beta2"] = o.beta2;
    opt["eps"] = o.eps;
  }
  nlohmann::json j = {{"optimizer", opt}, {"steps_per_epoch", steps_per_epoch}};
  if (!lr_schedule.empty()) j["lr_schedule"] = lr_schedule;
  return j;
}

PsUpdateConfig PsUpdateConfig::from_json(const nlohmann::json& j) {
  RM_THROW_IF(!j.is_object(), "update: must be an object");
  nlohmann::json spec = nlohmann::json::object();
  for (const auto& [k, v] : j.items()) {
    if (k == "optimizer" || k == "lr_schedule") {
      spec[k] = v;
    } else {
      RM_THROW_IF(k != "steps_per_epoch", "update: unknown field '", k, "'");
    }
  }
  RM_THROW_IF(!spec.contains("optimizer"), "update: 'optimizer' is missing");
  const auto spe = j.find("steps_per_epoch");
  RM_THROW_IF(spe == j.end() || !spe->is_number_integer() || spe->get<int64_t>() < 1,
              "update: 'steps_per_epoch' must be an integer >= 1");
  const models::JobSpec parsed = models::parse_job_spec(spec);  // throws SpecError
  return from_spec(parsed, spe->get<int64_t>());
}

comm::PsUpdateFactory make_ps_update_factory(PsUpdateConfig config) {
  return [config](const comm::PsJobInfo&, comm::PsTensors& weights) {
    return make_update(config, weights);
  };
}

comm::PsUpdateFactory make_ps_update_factory_from_init() {
  return [](const comm::PsJobInfo& job, comm::PsTensors& weights) {
    PsUpdateConfig config;
    try {
      config = PsUpdateConfig::from_json(job.update);
    } catch (const models::SpecError& e) {
      throw ops::Error("bad optimizer configuration: " + models::format_problems(e.problems()));
    }
    return make_update(config, weights);
  };
}

PsHost::PsHost(PsHostOptions options)
    : options_(std::move(options)), ctx_(std::make_unique<comm::Context>()) {}

PsHost::~PsHost() { stop_all(); }

std::vector<std::string> PsHost::start_job(const PsJobOptions& job) {
  RM_THROW_IF(job.job_id.empty(), "parameter server: a job id is required");
  RM_THROW_IF(job.world < 1 || job.shards < 1 || job.shards > 256, "parameter server: bad world (",
              job.world, ") or shards (", job.shards, ")");
  RM_THROW_IF(job.update.steps_per_epoch < 0, "parameter server: steps_per_epoch must be >= 0");
  {
    std::lock_guard<std::mutex> lock(mu_);
    RM_THROW_IF(jobs_.count(job.job_id) != 0, "parameter server: job '", job.job_id,
                "' already has shards");
  }
  // The factory checks that the clients agree with the coordinator on the world.
  const PsUpdateConfig update = job.update;
  const int world = job.world;
  comm::PsUpdateFactory factory = [update, world](const comm::PsJobInfo& info,
                                                  comm::PsTensors& weights) {
    RM_THROW_IF(info.world != world, "the coordinator started job '", info.job_id, "' for ", world,
                " workers, not ", info.world);
    if (update.steps_per_epoch > 0) return make_update(update, weights);
    // Only the workers know the data set's size: steps_per_epoch comes with
    // their init; the optimizer and schedule stay the coordinator's.
    PsUpdateConfig with_steps = update;
    const auto spe = info.update.find("steps_per_epoch");
    RM_THROW_IF(spe == info.update.end() || !spe->is_number_integer() || spe->get<int64_t>() < 1,
                "job '", info.job_id, "': the init's update must carry steps_per_epoch >= 1");
    with_steps.steps_per_epoch = spe->get<int64_t>();
    return make_update(with_steps, weights);
  };
  auto j = std::make_unique<Job>();
  for (int i = 0; i < job.shards; ++i) {
    comm::PsShardOptions o;
    o.endpoint = "tcp://" + options_.bind_host + ":0";
    o.shard_index = i;
    o.shards = job.shards;
    o.max_message_bytes = options_.max_message_bytes;
    o.only_job = job.job_id;
    o.max_jobs = 1;
    j->shards.push_back(std::make_unique<comm::ParameterServerShard>(*ctx_, factory, o));
    j->shards.back()->start();  // a throw destroys (stops) the ones started
    j->endpoints.push_back(j->shards.back()->endpoint());
  }
  std::vector<std::string> endpoints = j->endpoints;
  std::lock_guard<std::mutex> lock(mu_);
  RM_THROW_IF(!jobs_.emplace(job.job_id, std::move(j)).second, "parameter server: job '",
              job.job_id, "' already has shards");
  return endpoints;
}

std::vector<std::string> PsHost::endpoints(const std::string& job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? std::vector<std::string>{} : it->second->endpoints;
}

bool PsHost::stop_job(const std::string& job_id) {
  std::unique_ptr<Job> j;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) return false;
    j = std::move(it->second);
    jobs_.erase(it);
  }
  j.reset();  // stops the shard threads, outside the lock
  return true;
}

void PsHost::stop_all() {
  std::map<std::string, std::unique_ptr<Job>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(jobs_);
  }
}

std::vector<std::string> PsHost::jobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, j] : jobs_) out.push_back(id);
  return out;
}

comm::PsShardStats PsHost::stats(const std::string& job_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  comm::PsShardStats sum;
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return sum;
  for (const auto& s : it->second->shards) {
    const comm::PsShardStats st = s->stats();
    sum.bad_messages += st.bad_messages;
    sum.pushes += st.pushes;
    sum.pulls += st.pulls;
    sum.updates += st.updates;
    sum.failed_jobs += st.failed_jobs;
    sum.live_jobs += st.live_jobs;
  }
  return sum;
}

}  // namespace ringmaster::coordinator
