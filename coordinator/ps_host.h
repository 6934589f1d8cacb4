// PsHost: the parameter-server shards the coordinator hosts for its jobs.
// start_job() starts N shard threads for one job on ephemeral ports of the
// coordinator's bind host and returns their endpoints (in shard order, as the
// workers' ParameterServerClient wants them); stop_job() stops them when the
// job ends. Each shard steps the job's own optimizer (models/) with the LR
// schedule advanced per optimizer step as the trainer does. Not wired into
// the scheduler or rendezvous here: whoever assigns a job calls start_job and
// hands the endpoints to its workers.
//
// Also the update factories the standalone `ringmaster ps` uses (its jobs
// bring their optimizer configuration in the init message).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comm/ps_common.h"
#include "comm/ps_shard.h"
#include "models/job_spec.h"

namespace ringmaster::comm {
class Context;
}

namespace ringmaster::coordinator {

// What a shard needs to step a job's optimizer: the spec's optimizer and LR
// schedule, and the steps per epoch the schedule counts in. Step s (BSP: the
// global step; SSP: the pushing rank's step) runs at
// schedule.lr_at(s / steps_per_epoch, s % steps_per_epoch, steps_per_epoch),
// which is what the trainer sets before its optimizer step s.
struct PsUpdateConfig {
  models::OptimizerSpec optimizer;
  nlohmann::json lr_schedule = nlohmann::json::object();  // empty: constant
  int64_t steps_per_epoch = 1;

  // From a job spec; steps_per_epoch = ceil(train samples / global batch).
  static PsUpdateConfig from_spec(const models::JobSpec& spec, int64_t steps_per_epoch);
  // {"optimizer": {spec optimizer fields}, "lr_schedule": {...}, "steps_per_epoch": n}: the
  // `update` object a client sends to a standalone shard (PsClientOptions::update).
  nlohmann::json to_json() const;
  // The inverse; validates with the job-spec rules. Throws models::SpecError
  // (or ops::Error) naming the bad field.
  static PsUpdateConfig from_json(const nlohmann::json& j);
};

// An update factory for one fixed configuration (a coordinator-hosted job):
// builds SGD / Adam / AdamW over the shard's tensors.
comm::PsUpdateFactory make_ps_update_factory(PsUpdateConfig config);
// An update factory that reads each job's configuration from its init
// (PsJobInfo::update, see PsUpdateConfig::to_json): `ringmaster ps`.
comm::PsUpdateFactory make_ps_update_factory_from_init();

struct PsJobOptions {
  std::string job_id;
  int world = 1;   // ranks that push; every init must say the same
  int shards = 1;  // shard threads for this job
  // steps_per_epoch 0: taken from the workers' init (`update.steps_per_epoch`).
  PsUpdateConfig update;
};

struct PsHostOptions {
  std::string bind_host = "127.0.0.1";           // the coordinator's control-plane host
  int64_t max_message_bytes = int64_t{1} << 30;  // per frame (a job's share of one shard)
};

// Thread-safe: every method may be called from any thread. start_job and
// stop_job block for the shards' start and stop (milliseconds).
class PsHost {
 public:
  explicit PsHost(PsHostOptions options = {});  // owns its ZeroMQ context
  ~PsHost();                                    // stop_all()
  PsHost(const PsHost&) = delete;
  PsHost& operator=(const PsHost&) = delete;

  // Starts the job's shards; returns their endpoints ("tcp://HOST:PORT") in
  // shard order. Throws ops::Error when the job already has shards or the
  // options are bad, comm::TransportError when a bind fails (nothing is left
  // running then).
  std::vector<std::string> start_job(const PsJobOptions& job);
  // The job's endpoints; empty when it has no shards here.
  std::vector<std::string> endpoints(const std::string& job_id) const;
  // Stops the job's shards and drops their state. False when it had none.
  bool stop_job(const std::string& job_id);
  void stop_all();
  std::vector<std::string> jobs() const;
  // Counters summed over the job's shards (zeros when it has none).
  comm::PsShardStats stats(const std::string& job_id) const;

 private:
  struct Job {
    std::vector<std::unique_ptr<comm::ParameterServerShard>> shards;
    std::vector<std::string> endpoints;
  };
  PsHostOptions options_;
  std::unique_ptr<comm::Context> ctx_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Job>> jobs_;
};

}  // namespace ringmaster::coordinator
