// The job manager owns every job: the pending queue (priority, then
// submission order), state transitions, idempotency keys, live progress and
// log lines. Each change goes to the JobStore first and is applied in memory
// only once durable, so what a caller is told is what a restart will find.
// Thread-safe (one mutex); calls that change state block on the store's
// commit. Knows nothing of HTTP or ZeroMQ.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "coordinator/job.h"
#include "coordinator/job_store.h"
#include "coordinator/scheduler.h"

namespace ringmaster::coordinator {

// A job plus what the coordinator knows about it only in memory.
struct JobView {
  Job job;
  nlohmann::json progress;  // latest step report, or null
  // The reports of the last kMaxEpochReports finished epochs, each with
  // "log_line": the log's length when it arrived.
  nlohmann::json epochs = nlohmann::json::array();
  std::string unschedulable;  // PENDING: why no cluster of today's size can hold it
  int64_t log_lines = 0;
};

// An Idempotency-Key seen before with a different request body.
class IdempotencyConflict : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The store holds as many jobs as it may (JobManager's max_jobs).
class TooManyJobs : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a new job is made of (the handler validated all of it).
struct NewJob {
  std::string name;
  int64_t priority = 0;
  int64_t workers = 1, cores = 1, gpus = 0;
  int64_t min_workers = 0;  // 0: workers
  int64_t max_restarts = 0, backoff_ms = 0;
  nlohmann::json spec;          // normalised
  std::string idempotency_key;  // may be empty
  uint64_t request_hash = 0;
};

class JobManager {
 public:
  static constexpr int64_t kMaxLogLinesPerJob = 100000;
  // A longer line is cut to this many bytes (marked); a job's log stops
  // (marked) once it holds kMaxLogBytesPerJob.
  static constexpr size_t kMaxLogLineBytes = 4096;
  static constexpr int64_t kMaxLogBytesPerJob = 16 << 20;
  static constexpr size_t kDefaultMaxJobs = 10000;
  static constexpr size_t kMaxEpochReports = 100;  // most recent kept per job

  // Loads every job from the store, which it borrows (it must outlive the
  // manager). Throws StoreError.
  // At most max_jobs jobs are stored (finished ones included, until deleted).
  explicit JobManager(JobStore& store, size_t max_jobs = kDefaultMaxJobs);

  // --- for request handlers ---
  struct Submitted {
    JobView view;
    bool created = true;  // false: an earlier submit with the same Idempotency-Key
  };
  // Throws IdempotencyConflict, TooManyJobs, StoreError.
  Submitted submit(const NewJob& job);
  std::optional<JobView> get(const std::string& id) const;
  // The most recent `limit` jobs (in the given state), in submission order.
  std::vector<JobView> list(std::optional<JobState> state, size_t limit) const;

  enum class CancelResult { kNotFound, kCancelled, kCancelling, kAlreadyFinished };
  // Idempotent. PENDING -> CANCELLED now; RUNNING -> cancel requested (the
  // worker is told; CANCELLED once it stops). Throws StoreError.
  CancelResult cancel(const std::string& id, std::optional<JobView>* view = nullptr);

  enum class RemoveResult { kRemoved, kNotFound, kNotFinished };
  RemoveResult remove(const std::string& id);

  struct LogChunk {
    bool found = false;
    std::vector<std::string> lines;
    int64_t next = 0;       // the line to ask for next
    bool finished = false;  // the job is terminal: no more lines will come
  };
  LogChunk read_logs(const std::string& id, int64_t from_line, int64_t max_lines) const;

  // --- for the control plane ---
  // Pending jobs in queue order, less those restarting before their backoff
  // ends (not_before_ms > now_ms).
  std::vector<JobDemand> queue(int64_t now_ms = now_unix_ms()) const;
  // The earliest end of a pending job's restart backoff (or of its wait for
  // a whole gang) after now_ms; 0 none.
  int64_t next_backoff_end_ms(int64_t now_ms = now_unix_ms()) const;
  // Changes whenever the queue changes or a job releases its workers.
  uint64_t version() const { return version_.load(); }
  // PENDING -> RUNNING on these workers (durable). nullopt when the job is no
  // longer pending (cancelled meanwhile).
  std::optional<Job> start(const Placement& p);
  // RUNNING -> PENDING as the next attempt, not counted against
  // restart_policy.max_restarts: the assignment of that attempt never reached
  // a worker, or a worker refused it (busy). False (ignored) when the job is
  // not running that attempt.
  // full_gang_until_ms (Unix ms, 0 none): the next placement waits for the
  // whole gang until then (an elastic job growing back).
  bool requeue(const std::string& id, int64_t attempt, const std::string& why,
               int64_t full_gang_until_ms = 0);
  void set_unschedulable(const std::vector<Unschedulable>& jobs);
  // The calls from workers below take the attempt the worker ran (the job's
  // restarts when it was placed; < 0: any) and ignore a report of another.
  // From a worker of the job's placement; false (ignored) otherwise.
  // The first step report after a restart settles the steps redone, which
  // `steps_redone` (when given) receives (0 otherwise).
  bool record_progress(const std::string& id, const std::string& worker, const std::string& kind,
                       const nlohmann::json& report, int64_t attempt = -1,
                       int64_t* steps_redone = nullptr);
  bool append_logs(const std::string& id, const std::string& worker,
                   const std::vector<std::string>& lines, int64_t attempt = -1);
  // RUNNING -> SUCCEEDED, or CANCELLED when `cancelled`. False when the job is
  // not running on that worker (a late or duplicate report). A data-parallel
  // job succeeds, with rank 0's (placement[0]'s) result, once every rank has
  // reported success; until then each report is recorded and true returned.
  bool finish(const std::string& id, const std::string& worker, const nlohmann::json& result,
              bool cancelled, int64_t attempt = -1);
  // RUNNING -> FAILED (CANCELLED if a cancel was pending). An empty `worker`
  // means the coordinator itself decided (heartbeat timeout, lost task).
  bool fail(const std::string& id, const std::string& worker, const std::string& reason,
            int64_t attempt = -1);
  // A worker of attempt `attempt` died or lost a peer (`reason`): RUNNING ->
  // PENDING with restarts + 1 and the reason kept, to start again (resuming
  // from its newest checkpoint) no sooner than its backoff; FAILED, listing
  // every reason, when it has had max_restarts; CANCELLED when a cancel was
  // pending. kIgnored when the job is not RUNNING in that attempt. `before`
  // gets the job as it was (its placement: the ranks to stop).
  enum class RestartResult { kIgnored, kRestarted, kFailed };
  RestartResult restart(const std::string& id, int64_t attempt, const std::string& reason,
                        Job* before = nullptr);
  // RUNNING jobs whose cancel has not been sent yet; each is handed out once.
  std::vector<Job> take_cancel_requests();
  std::vector<Job> running() const;
  // True when the job is RUNNING with `worker` in its placement (cheap: no copy).
  bool runs_on(const std::string& id, const std::string& worker) const;
  std::map<JobState, int64_t> counts() const;
  std::optional<JobState> state_of(const std::string& id) const;  // cheap: no copy
  int64_t unschedulable_count() const;  // PENDING jobs no cluster of today's size can hold

  // Called on every state change, once it is durable, under the manager's
  // lock: it must be quick and must not call back into the manager (metrics
  // counters). Set it before the manager is shared between threads.
  using TransitionObserver = std::function<void(JobState from, JobState to)>;
  void set_transition_observer(TransitionObserver observer) { observer_ = std::move(observer); }

 private:
  struct Entry {
    Job job;
    nlohmann::json progress;
    nlohmann::json epochs = nlohmann::json::array();
    std::string unschedulable;
    uint64_t flag_pass = 0;  // the set_unschedulable pass that last flagged it
    int64_t log_lines = 0;
    int64_t log_bytes = 0;
    // A data-parallel job's ranks that reported success, and rank 0's result
    // (the job succeeds once every rank has, so their last log lines are in).
    std::set<std::string> finished_workers;
    nlohmann::json rank0_result;
  };
  JobView view_locked(const Entry& e) const;
  Entry* find_locked(const std::string& id);
  const Entry* find_locked(const std::string& id) const;
  bool on_worker_locked(const Entry& e, const std::string& worker, int64_t attempt = -1) const;
  void commit_locked(Entry& e, const Job& next);  // store, then memory
  // RUNNING -> PENDING as the next attempt (requeue, restart): `next` with
  // its placement dropped, restarts + 1 and `why` kept; the attempt's
  // progress and ranks' reports forgotten.
  void back_to_queue_locked(Entry& e, Job next, const std::string& why);
  void insert_pending_locked(const Job& j);
  void erase_pending_locked(const Job& j);

  JobStore& store_;
  size_t max_jobs_;
  mutable std::mutex mu_;
  std::map<int64_t, Entry> by_seq_;
  std::unordered_map<std::string, int64_t> seq_of_;
  std::unordered_map<std::string, int64_t> by_key_;  // idempotency key -> seq
  // Pending jobs' demands in queue order (queue_before): a sorted vector, so
  // queue() is one contiguous copy; an insert or erase moves at most the tail.
  std::vector<JobDemand> pending_;
  std::vector<int64_t> flagged_;  // seqs currently marked unschedulable
  uint64_t flag_pass_ = 0;
  std::vector<std::string> cancel_outbox_;
  int64_t next_seq_ = 1;
  std::atomic<uint64_t> version_{0};
  TransitionObserver observer_;
};

}  // namespace ringmaster::coordinator
