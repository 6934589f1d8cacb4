// The coordinator's metrics: submissions and rejections, job transitions,
// scheduling-decision latency, per-job training series built from the
// workers' progress reports (loss, accuracy, samples, step time, learning
// rate), and a collector that reads jobs, workers and control-plane counters
// from the managers when scraped. Every family exists from start-up; a
// finished job's series are removed after a retention period, so label
// cardinality stays bounded by the jobs running plus those finished recently.
// Serving the text is RestApi's (GET /metrics).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "coordinator/job.h"

namespace prometheus {
class Collectable;
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace ringmaster::coordinator {

class JobManager;
class WorkerRegistry;

// Why a POST /v1/jobs was refused (label `reason`).
enum class Rejection {
  kInvalidSpec,           // 400: the spec failed validation
  kBadRequest,            // 400: a bad header (Idempotency-Key too long)
  kUnsupportedMediaType,  // 415
  kUnauthorized,          // 401
  kIdempotencyConflict,   // 422
  kStoreUnavailable,      // 503
  kStoreFull,             // 503: --max-jobs stored
};
const char* to_string(Rejection r);

// Thread-safe (the REST threads, the control-plane thread and scrapes call it).
class CoordinatorMetrics {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CoordinatorMetrics(std::chrono::milliseconds job_retention = std::chrono::minutes(10));
  ~CoordinatorMetrics();

  void submitted();
  void rejected(Rejection why);
  // A job changed state (JobManager's observer): started and finished counts.
  void transition(JobState from, JobState to);
  // Steps a restarted job trained again (its last report before the restart
  // less the step it resumed from).
  void steps_redone(int64_t steps);
  void observe_scheduling(double seconds);
  // A progress report the job manager accepted (`kind`: "step" | "epoch").
  // Unknown or mistyped fields are ignored: reports are for display.
  void on_progress(const std::string& job_id, const std::string& kind,
                   const nlohmann::json& report);
  // Per-job series of a job that is no longer running are removed once it has
  // been seen stopped for the retention period. `running(id)` tells whether a
  // job is still RUNNING. Call it about once a second (the control plane does).
  void sweep(Clock::time_point now, const std::function<bool(const std::string&)>& running);
  size_t tracked_jobs() const;  // jobs with per-job series now
  std::chrono::milliseconds retention() const { return retention_; }

  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  struct JobSeries;
  JobSeries& series_locked(const std::string& job_id);
  void remove_locked(JobSeries& s);

  std::chrono::milliseconds retention_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* submitted_;
  std::map<Rejection, prometheus::Counter*> rejected_;
  prometheus::Counter* started_;
  std::map<JobState, prometheus::Counter*> finished_;
  prometheus::Counter* restarts_;
  prometheus::Counter* steps_redone_;
  prometheus::Histogram* scheduling_;
  prometheus::Family<prometheus::Gauge>* loss_;
  prometheus::Family<prometheus::Gauge>* accuracy_;
  prometheus::Family<prometheus::Gauge>* figure_;
  prometheus::Family<prometheus::Counter>* samples_;
  prometheus::Family<prometheus::Histogram>* step_seconds_;
  prometheus::Family<prometheus::Gauge>* lr_;
  prometheus::Family<prometheus::Gauge>* epoch_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<JobSeries>> jobs_;
};

// The control plane's message counters, as the cluster collector reads them.
struct ControlCounters {
  uint64_t received = 0, bad_messages = 0, sent = 0, send_failures = 0;
  std::map<std::string, uint64_t> bad_by_code;
  uint64_t auth_accepted = 0, auth_refused = 0;  // CURVE handshakes (ZAP answers)
};
// Jobs by state, unschedulable jobs, workers by state (idle, busy, dead),
// seconds since each worker's last heartbeat, and the control-plane counters,
// read when scraped. Borrows everything; all must outlive it. Thread-safe as
// the managers are.
std::shared_ptr<prometheus::Collectable> cluster_collector(
    const JobManager& jobs, const WorkerRegistry& workers,
    std::function<ControlCounters()> control_counters);

}  // namespace ringmaster::coordinator
