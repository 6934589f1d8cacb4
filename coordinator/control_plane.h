// The control plane: the coordinator's ROUTER socket and the one thread that
// owns it. It turns worker messages (register, heartbeat, progress, log,
// finished, failed) into JobManager / WorkerRegistry calls, runs the
// scheduler when the queue or the cluster changed, sends assignments and
// cancels, declares silent workers dead, and reconciles running jobs when
// workers re-register after a coordinator restart. Bad messages are answered
// with an `error`, counted, and otherwise ignored.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "comm/curve.h"
#include "comm/transport.h"
#include "comm/zap_authenticator.h"
#include "coordinator/job_manager.h"
#include "coordinator/ps_host.h"
#include "coordinator/submission.h"
#include "coordinator/worker_registry.h"

namespace ringmaster::coordinator {

class CoordinatorMetrics;

struct ControlPlaneOptions {
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::chrono::milliseconds heartbeat_interval{1000};  // told to workers
  std::chrono::milliseconds poll_interval{20};         // longest idle wait of the loop
  // Borrowed, may be null: scheduling latency, per-job progress series and
  // their retention sweep (once a second).
  CoordinatorMetrics* metrics = nullptr;
  // The optimizer step of sync.mode "ps" jobs' shards (ps_host.h).
  PsUpdateMaker ps_update;
  // Reads a job's sync section when it is assigned (submission.h).
  SpecParser parse_spec;
  // CURVE (comm/curve.h): the coordinator's secret key and the file of
  // worker public keys allowed to connect (re-read when it changes). Empty:
  // plain TCP (loopback only; the Coordinator refuses anything else). With
  // CURVE a worker id stays with the key that first registered it.
  std::string curve_secret_key;
  std::string worker_allowlist;
};

class ControlPlane {
 public:
  struct Stats {
    uint64_t received = 0, bad_messages = 0, sent = 0, send_failures = 0;
    std::map<std::string, uint64_t> bad_by_code;
    uint64_t auth_accepted = 0, auth_refused = 0;
  };

  // Borrows everything; all must outlive it.
  ControlPlane(comm::Context& ctx, JobManager& jobs, WorkerRegistry& workers,
               ControlPlaneOptions options);
  ~ControlPlane();
  // Binds (throws comm::TransportError) and starts the loop thread.
  void start();
  // Stops and joins the loop. Idempotent.
  void stop();
  std::string endpoint() const { return endpoint_; }
  Stats stats() const;  // thread-safe

 private:
  void run();
  void handle(const comm::Envelope& env);
  void on_register(const std::string& peer, const comm::Message& m);
  void on_heartbeat(const std::string& peer, const comm::Message& m);
  void on_finished(const std::string& peer, const comm::Message& m);
  void on_failed(const std::string& peer, const comm::Message& m);
  void hold_for_running_task(const std::string& peer, const nlohmann::json& refusal);
  void on_rendezvous(const std::string& peer, const comm::Message& m);
  // The job's CURVE keypair for its ring and shards: made on its first
  // assignment and kept until it ends, so a restart's shards and ranks agree.
  comm::CurveKeypair job_keys(const std::string& job_id);
  void start_ps_shards(const Job& job, const comm::CurveKeypair& keys);
  void send(const std::string& peer, const comm::Message& m);
  void bad(const std::string& peer, const std::string& code, const std::string& text,
           const std::string& in_reply_to = "");
  void schedule();
  void expire_workers(std::chrono::steady_clock::time_point now);
  void reconcile_after_restart();
  void send_cancels();

  comm::Context& ctx_;
  JobManager& jobs_;
  WorkerRegistry& workers_;
  ControlPlaneOptions options_;
  // With CURVE: the allowlist and the context's ZAP handler (before the
  // socket, which it must outlive), and each worker id's key (loop thread).
  std::unique_ptr<comm::CurveAllowlist> allowlist_;
  std::unique_ptr<comm::ZapAuthenticator> zap_;
  std::map<std::string, std::string> key_of_worker_;
  std::map<std::string, comm::CurveKeypair> job_keys_;
  std::unique_ptr<comm::Socket> socket_;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::chrono::steady_clock::time_point started_;
  bool reconciled_ = false;
  bool cluster_changed_ = true;
  uint64_t scheduled_version_ = ~uint64_t{0};
  mutable std::mutex stats_mu_;
  Stats stats_;
  // Data-parallel jobs gathering their ranks' ring endpoints (loop thread
  // only; in memory: a coordinator restart mid-rendezvous fails the job by
  // the ranks' rendezvous timeout).
  struct Gathering {
    int64_t attempt = 0;            // the job's restarts when its ranks gathered
    std::vector<std::string> ring;  // endpoints by rank ("" until heard)
    std::string nccl_id;            // rank 0's, if any
    std::vector<std::string> ps;    // the job's parameter-server shards
  };
  std::map<std::string, Gathering> rendezvous_;
  // Parameter-server shards of running sync.mode "ps" jobs (started at
  // assignment, stopped once the job is no longer running).
  std::unique_ptr<PsHost> ps_host_;
  std::chrono::steady_clock::time_point last_ps_sweep_{};
  void sweep_ps_jobs();
  bool uses_ps(const Job& job) const;  // sync.mode "ps"
  // When this control plane started (Unix ms): jobs started before it were
  // placed by an earlier life of the coordinator.
  const int64_t started_ms_ = now_unix_ms();
  // A worker of the job's attempt died or lost a peer: queue it again (or
  // fail it past its restart_policy) and stop the ranks still running it.
  void restart_job(const std::string& id, int64_t attempt, const std::string& reason);
  // The job's attempt never started (a worker refused it as busy): queue it
  // again, not counted against its restart_policy, and stop its other ranks.
  // full_gang_until_ms: see JobManager::requeue.
  void requeue_job(const std::string& id, int64_t attempt, const std::string& why,
                   int64_t full_gang_until_ms = 0);
  // An elastic job below its size that wrote a checkpoint in this attempt
  // (its step report's checkpoint_step) while enough workers are free for
  // the whole gang: queue it again to resume at full size from there.
  void grow_if_possible(const std::string& id, const nlohmann::json& step_report);
  // When the next restart backoff ends (Unix ms; 0: to be looked up): the
  // scheduler then runs although nothing else changed.
  std::chrono::steady_clock::time_point last_backoff_check_{};
  int64_t backoff_wake_ms_ = 0;
  void check_backoffs();
};

}  // namespace ringmaster::coordinator
