// PsHost (see ps_host.h): shards per job on the coordinator.
#include "coordinator/ps_host.h"

#include "comm/transport.h"

namespace ringmaster::coordinator {

PsHost::PsHost(PsHostOptions options)
    : options_(std::move(options)), ctx_(std::make_unique<comm::Context>()) {}

PsHost::~PsHost() { stop_all(); }

std::vector<std::string> PsHost::start_job(const PsJobOptions& job) {
  RM_THROW_IF(job.job_id.empty(), "parameter server: a job id is required");
  RM_THROW_IF(job.world < 1 || job.shards < 1 || job.shards > 256, "parameter server: bad world (",
              job.world, ") or shards (", job.shards, ")");
  RM_THROW_IF(!options_.make_update, "parameter server: this coordinator was started without ",
              "an optimizer for its shards (PsHostOptions::make_update)");
  {
    std::lock_guard<std::mutex> lock(mu_);
    RM_THROW_IF(jobs_.count(job.job_id) != 0, "parameter server: job '", job.job_id,
                "' already has shards");
  }
  // The factory checks that the clients agree with the coordinator on the world.
  const nlohmann::json update = job.update;
  const int world = job.world;
  const PsUpdateMaker make = options_.make_update;
  comm::PsUpdateFactory factory = [update, world, make](const comm::PsJobInfo& info,
                                                        comm::PsTensors& weights) {
    RM_THROW_IF(info.world != world, "the coordinator started job '", info.job_id, "' for ", world,
                " workers, not ", info.world);
    if (update.contains("steps_per_epoch")) return make(update, weights);
    // Only the workers know the data set's size: steps_per_epoch comes with
    // their init; the optimizer and schedule stay the coordinator's.
    const auto spe = info.update.find("steps_per_epoch");
    RM_THROW_IF(spe == info.update.end() || !spe->is_number_integer() || spe->get<int64_t>() < 1,
                "job '", info.job_id, "': the init's update must carry steps_per_epoch >= 1");
    nlohmann::json with_steps = update;
    with_steps["steps_per_epoch"] = *spe;
    return make(with_steps, weights);
  };
  if (!job.curve_secret_key.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!zap_) {
      zap_ = std::make_unique<comm::ZapAuthenticator>(
          *ctx_, [this](const std::string& domain, const std::string& key, const std::string&) {
            std::lock_guard<std::mutex> guard(mu_);
            if (domain.rfind("ps:", 0) != 0) return false;
            auto it = job_keys_.find(domain.substr(3));
            return it != job_keys_.end() && it->second == key;
          });
    }
    job_keys_[job.job_id] = job.curve_public_key;
  }
  auto j = std::make_unique<Job>();
  for (int i = 0; i < job.shards; ++i) {
    comm::PsShardOptions o;
    o.endpoint = "tcp://" + options_.bind_host + ":0";
    o.shard_index = i;
    o.shards = job.shards;
    o.max_message_bytes = options_.max_message_bytes;
    o.only_job = job.job_id;
    o.max_jobs = 1;
    o.curve_secret_key = job.curve_secret_key;
    if (!o.curve_secret_key.empty()) o.zap_domain = "ps:" + job.job_id;
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
    job_keys_.erase(job_id);
  }
  j.reset();  // stops the shard threads, outside the lock
  return true;
}

void PsHost::stop_all() {
  std::map<std::string, std::unique_ptr<Job>> all;
  {
    std::lock_guard<std::mutex> lock(mu_);
    all.swap(jobs_);
    job_keys_.clear();
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
