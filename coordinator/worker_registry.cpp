// Worker liveness and capacity bookkeeping (see worker_registry.h). Dead
// workers stay listed (alive = false, with the reason) until they register
// again, so `ringmaster workers` can say what happened to them; at most
// kMaxDead are kept.
#include "coordinator/worker_registry.h"

#include <cstdio>

#include "coordinator/job.h"

namespace ringmaster::coordinator {
namespace {
constexpr size_t kMaxDead = 256;
}

void WorkerRegistry::upsert(WorkerInfo info, Clock::time_point now) {
  std::lock_guard lock(mu_);
  info.alive = true;
  info.dead_reason.clear();
  info.tasks.clear();
  info.registered_ms = info.last_seen_ms = now_unix_ms();
  last_seen_[info.id] = now;
  workers_[info.id] = std::move(info);
}

bool WorkerRegistry::touch(const std::string& id, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  if (it == workers_.end() || !it->second.alive) return false;
  last_seen_[id] = now;
  it->second.last_seen_ms = now_unix_ms();
  return true;
}

bool WorkerRegistry::is_alive(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = workers_.find(id);
  return it != workers_.end() && it->second.alive;
}

void WorkerRegistry::add_task(const std::string& worker, const std::string& job, int64_t cores,
                              int64_t gpus, int64_t attempt) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker);
  if (it != workers_.end()) it->second.tasks[job] = {cores, gpus, attempt};
}

void WorkerRegistry::remove_task(const std::string& worker, const std::string& job,
                                 int64_t attempt) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker);
  if (it == workers_.end()) return;
  auto t = it->second.tasks.find(job);
  if (t != it->second.tasks.end() &&
      (attempt < 0 || t->second.attempt < 0 || t->second.attempt == attempt))
    it->second.tasks.erase(t);
}

std::vector<WorkerRegistry::Death> WorkerRegistry::expire(Clock::time_point now) {
  std::lock_guard lock(mu_);
  std::vector<Death> out;
  for (auto& [id, w] : workers_) {
    if (!w.alive || now - last_seen_[id] <= timeout_) continue;
    const auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(now - last_seen_[id]);
    char why[160];
    std::snprintf(why, sizeof why, "sent no heartbeat for %.1f s (timeout %.1f s): presumed dead",
                  static_cast<double>(silent.count()) / 1000.0,
                  static_cast<double>(timeout_.count()) / 1000.0);
    Death d{id, {}, "worker " + id + " " + why};
    for (const auto& [job, t] : w.tasks) d.tasks.push_back({job, t.attempt});
    w.tasks.clear();
    w.alive = false;
    w.dead_reason = d.reason;
    out.push_back(std::move(d));
  }
  // Forget the oldest dead beyond the cap.
  size_t dead = 0;
  for (const auto& [id, w] : workers_) dead += !w.alive;
  for (auto it = workers_.begin(); dead > kMaxDead && it != workers_.end();) {
    if (!it->second.alive) {
      last_seen_.erase(it->first);
      it = workers_.erase(it);
      --dead;
    } else {
      ++it;
    }
  }
  return out;
}

std::vector<WorkerRegistry::LostTask> WorkerRegistry::kill(const std::string& id,
                                                           const std::string& reason) {
  std::lock_guard lock(mu_);
  std::vector<LostTask> jobs;
  auto it = workers_.find(id);
  if (it == workers_.end() || !it->second.alive) return jobs;
  for (const auto& [job, t] : it->second.tasks) jobs.push_back({job, t.attempt});
  it->second.tasks.clear();
  it->second.alive = false;
  it->second.dead_reason = reason;
  return jobs;
}

ClusterSnapshot WorkerRegistry::snapshot() const {
  std::lock_guard lock(mu_);
  ClusterSnapshot s;
  s.workers.reserve(workers_.size());
  for (const auto& [id, w] : workers_) {
    if (!w.alive) continue;
    WorkerCapacity c{id, w.cores, w.gpus, w.slots, w.cores, w.gpus, w.slots};
    for (const auto& [job, t] : w.tasks) {
      c.free_cores -= t.cores;
      c.free_gpus -= t.gpus;
      c.free_slots -= 1;
    }
    s.workers.push_back(std::move(c));
  }
  return s;
}

std::vector<WorkerInfo> WorkerRegistry::list() const {
  std::lock_guard lock(mu_);
  std::vector<WorkerInfo> out;
  for (const auto& [id, w] : workers_) out.push_back(w);
  return out;
}

int64_t WorkerRegistry::alive_count() const {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (const auto& [id, w] : workers_) n += w.alive;
  return n;
}

}  // namespace ringmaster::coordinator
