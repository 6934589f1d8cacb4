// The coordinator process in one object: opens the SQLite job store under the
// state folder, loads the jobs, and runs the REST server and the ZeroMQ
// control plane over one JobManager and WorkerRegistry. Once started it
// writes <state>/coordinator.json with the endpoints it actually bound (for
// `ringmaster up` and tests that ask for port 0). Not a daemon: the caller
// owns signals and lifetime.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "coordinator/job_manager.h"
#include "coordinator/job_store.h"
#include "coordinator/ps_host.h"
#include "coordinator/submission.h"

namespace ringmaster::coordinator {

// A refused configuration (non-loopback bind without a token, unreadable
// token file, ...). The message says what to change.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CoordinatorOptions {
  std::string http_address = "127.0.0.1";
  uint16_t http_port = 8080;  // 0: any free port
  std::string zmq_endpoint = "tcp://127.0.0.1:5555";
  std::string state_dir = "runs/cluster";
  std::string checkpoint_root = "runs";
  std::string token;  // empty: no authentication (loopback only)
  // CURVE on the control plane (comm/curve.h): the coordinator's .key file
  // and the allowlist of worker public keys (re-read when it changes).
  // Required to bind the control plane to anything but loopback.
  std::string curve_key_file;
  std::string worker_allowlist;
  Durability durability = Durability::kFull;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds heartbeat_timeout{5000};
  int http_threads = 2;
  // Jobs stored at most (finished ones too, until deleted); more get 503.
  size_t max_jobs = JobManager::kDefaultMaxJobs;
  // A finished job's per-job series (loss, accuracy, ...) leave /metrics this
  // long after it ended: long enough for Prometheus to scrape the last values.
  std::chrono::milliseconds metrics_retention{std::chrono::minutes(10)};
  // The optimizer step of the parameter-server shards it hosts
  // (training::make_ps_update_from_json); null: sync.mode "ps" jobs find no shards.
  PsUpdateMaker ps_update;
  // The job-spec parser (training::parse_job_spec); required.
  SpecParser parse_spec;
  // The check of the paths a spec reads against the cluster's data and
  // checkpoint roots (training::read_path_problems); null: not checked here
  // (the workers still check every path against their own roots).
  ReadPathCheck check_read_paths;
  // A job's restart policy when its spec gives none (training::RestartPolicy).
  int64_t max_restarts = 3;
  double restart_backoff_s = 5.0;
};

bool is_loopback_address(const std::string& host);
// The host part of "tcp://HOST:PORT".
std::string zmq_endpoint_host(const std::string& endpoint);

// Owns the store, the managers and both servers. Not thread-safe: construct,
// start and stop from one thread; the servers run on their own threads.
class Coordinator {
 public:
  // Validates the options (throws ConfigError) and opens the store (throws
  // StoreError). Starts nothing.
  explicit Coordinator(CoordinatorOptions options);
  ~Coordinator();
  // Binds both servers and starts their threads. Throws on a bind failure.
  void start();
  // Stops both and closes the store. Idempotent.
  void stop();
  uint16_t http_port() const;
  std::string zmq_endpoint() const;  // as bound, port filled in
  uint64_t bad_messages() const;     // control-plane messages that failed validation
  std::string metrics_text() const;  // what GET /metrics serves

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmaster::coordinator
