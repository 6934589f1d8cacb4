// PsHost: the parameter-server shards the coordinator hosts for its jobs.
// start_job() starts N shard threads for one job on ephemeral ports of the
// coordinator's bind host and returns their endpoints (in shard order, as the
// workers' ParameterServerClient wants them); stop_job() stops them when the
// job ends. Each shard steps the job's own optimizer through the
// PsUpdateMaker it is given (training/ps_update.h): the coordinator holds no
// optimizer code. Not wired into the scheduler or rendezvous here: whoever
// assigns a job calls start_job and hands the endpoints to its workers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comm/ps_common.h"
#include "comm/ps_shard.h"
#include "comm/zap_authenticator.h"

namespace ringmaster::comm {
class Context;
}

namespace ringmaster::coordinator {

// Builds the optimizer step of a job's shard from its update configuration
// ({"optimizer": {...}, "lr_schedule": {...}, "steps_per_epoch": n}, see
// training::PsUpdateConfig) over the shard's tensors; throws ops::Error for
// a bad configuration. The coordinator does not implement it: the binary
// hands it training::make_ps_update_from_json.
using PsUpdateMaker =
    std::function<comm::PsUpdate(const nlohmann::json& update, comm::PsTensors& weights)>;

struct PsJobOptions {
  std::string job_id;
  int world = 1;   // ranks that push; every init must say the same
  int shards = 1;  // shard threads for this job
  // The job's optimizer and LR schedule as PsUpdateMaker takes them; without
  // steps_per_epoch, it is taken from the workers' init (only they know the
  // data set's size).
  nlohmann::json update = nlohmann::json::object();
  // CURVE (comm/curve.h): the job's keypair; its shards admit clients with
  // exactly this public key (empty: plain TCP).
  std::string curve_public_key, curve_secret_key;
};

struct PsHostOptions {
  std::string bind_host = "127.0.0.1";           // the coordinator's control-plane host
  int64_t max_message_bytes = int64_t{1} << 30;  // per frame (a job's share of one shard)
  PsUpdateMaker make_update;                     // null: start_job refuses (no optimizer to run)
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
  std::map<std::string, std::string> job_keys_;  // job id -> the public key its shards admit
  // The context's ZAP handler (domain "ps:<job id>"), made with the first
  // CURVE job; destroyed before the context (the destructor has stopped
  // every shard by then).
  std::unique_ptr<comm::ZapAuthenticator> zap_;
};

}  // namespace ringmaster::coordinator
