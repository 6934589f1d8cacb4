// The worker registry owns what the coordinator knows about its workers:
// their resources, the tasks placed on them, and when each was last heard
// from. It decides liveness (silent for the timeout: dead) and gives the
// scheduler a snapshot of free capacity. Thread-safe (one mutex); never
// blocks on I/O. Not persisted: workers re-register after a restart.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "coordinator/scheduler.h"

namespace ringmaster::coordinator {

struct WorkerInfo {
  std::string id;
  std::string hostname;
  int64_t pid = 0;
  int64_t cores = 0, memory_bytes = 0, gpus = 0, slots = 1;
  int64_t registered_ms = 0, last_seen_ms = 0;  // Unix ms
  bool alive = true;
  std::string dead_reason;
  struct Task {
    int64_t cores = 0, gpus = 0;
    int64_t attempt = 0;  // the job's restarts when it was placed here
  };
  std::map<std::string, Task> tasks;  // job id -> what it holds
};

class WorkerRegistry {
 public:
  using Clock = std::chrono::steady_clock;
  explicit WorkerRegistry(std::chrono::milliseconds heartbeat_timeout)
      : timeout_(heartbeat_timeout) {}

  // Adds or replaces the worker (a re-register forgets its old tasks; the
  // caller re-adds the ones it reconciles).
  void upsert(WorkerInfo info, Clock::time_point now);
  // Marks the worker heard from. False when unknown or already declared dead.
  bool touch(const std::string& id, Clock::time_point now);
  bool is_alive(const std::string& id) const;
  void add_task(const std::string& worker, const std::string& job, int64_t cores, int64_t gpus,
                int64_t attempt = 0);
  // Removes the task when it is of that attempt (any attempt when < 0, and
  // any report of the job frees a task of unknown attempt): a late report of
  // an earlier attempt does not free the slot of a later one.
  void remove_task(const std::string& worker, const std::string& job, int64_t attempt = -1);

  struct LostTask {
    std::string job;
    int64_t attempt = 0;
  };
  struct Death {
    std::string worker;
    std::vector<LostTask> tasks;  // what it held
    std::string reason;
  };
  // Declares every worker silent for longer than the timeout dead and hands
  // back what it was running.
  std::vector<Death> expire(Clock::time_point now);
  // Declares one worker dead now (it said goodbye, or could not be reached).
  std::vector<LostTask> kill(const std::string& id, const std::string& reason);

  ClusterSnapshot snapshot() const;  // live workers, free capacity
  std::vector<WorkerInfo> list() const;
  int64_t alive_count() const;
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  std::chrono::milliseconds timeout_;
  mutable std::mutex mu_;
  std::map<std::string, WorkerInfo> workers_;
  std::map<std::string, Clock::time_point> last_seen_;
};

}  // namespace ringmaster::coordinator
