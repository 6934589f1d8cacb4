// Job state transitions over the store (see job_manager.h). Every transition
// builds the next Job, puts it in the store, and only then replaces the
// in-memory copy: a StoreError leaves memory as it was.
#include "coordinator/job_manager.h"

#include <algorithm>
#include <cstdio>

#include "comm/progress_report.h"

namespace ringmaster::coordinator {
namespace {

JobDemand demand_of(const Job& j) {
  return {j.id,   j.priority,      j.seq,         j.workers,           j.cores,
          j.gpus, j.not_before_ms, j.min_workers, j.full_gang_until_ms};
}

}  // namespace

JobManager::JobManager(JobStore& store, size_t max_jobs) : store_(store), max_jobs_(max_jobs) {
  for (Job& j : store_.load_all()) {
    Entry e;
    e.log_lines = store_.log_size(j.id);
    e.log_bytes = store_.log_bytes(j.id);
    const int64_t seq = j.seq;
    seq_of_[j.id] = seq;
    if (!j.idempotency_key.empty()) by_key_[j.idempotency_key] = seq;
    const bool pending = j.state == JobState::kPending;
    e.job = std::move(j);
    const Entry& stored = by_seq_.emplace(seq, std::move(e)).first->second;
    if (pending) pending_.push_back(demand_of(stored.job));
  }
  std::sort(pending_.begin(), pending_.end(), queue_before);
  next_seq_ = store_.next_seq();
  if (!by_seq_.empty()) next_seq_ = std::max(next_seq_, by_seq_.rbegin()->first + 1);
}

void JobManager::insert_pending_locked(const Job& j) {
  const JobDemand d = demand_of(j);
  pending_.insert(std::upper_bound(pending_.begin(), pending_.end(), d, queue_before), d);
}

void JobManager::erase_pending_locked(const Job& j) {
  const JobDemand d = demand_of(j);
  auto it = std::lower_bound(pending_.begin(), pending_.end(), d, queue_before);
  if (it != pending_.end() && it->seq == j.seq) pending_.erase(it);
}

JobView JobManager::view_locked(const Entry& e) const {
  return JobView{e.job, e.progress, e.epochs, e.unschedulable, e.log_lines};
}

JobManager::Entry* JobManager::find_locked(const std::string& id) {
  auto it = seq_of_.find(id);
  return it == seq_of_.end() ? nullptr : &by_seq_.at(it->second);
}

const JobManager::Entry* JobManager::find_locked(const std::string& id) const {
  auto it = seq_of_.find(id);
  return it == seq_of_.end() ? nullptr : &by_seq_.at(it->second);
}

bool JobManager::on_worker_locked(const Entry& e, const std::string& worker,
                                  int64_t attempt) const {
  if (attempt >= 0 && attempt != e.job.restarts) return false;
  const auto& p = e.job.placement;
  return std::find(p.begin(), p.end(), worker) != p.end();
}

void JobManager::commit_locked(Entry& e, const Job& next) {
  store_.put(next);  // throws: memory unchanged
  const bool was_pending = e.job.state == JobState::kPending;
  const bool is_pending = next.state == JobState::kPending;
  if (was_pending) erase_pending_locked(e.job);
  if (is_pending) insert_pending_locked(next);
  if (is_terminal(next.state) && !is_terminal(e.job.state)) e.progress = nullptr;
  if (!is_pending) e.unschedulable.clear();
  if (was_pending != is_pending || is_terminal(next.state)) ++version_;
  const JobState from = e.job.state;
  if (is_terminal(next.state) && !is_terminal(from))
    std::fprintf(stderr, "coordinator: %s %s (attempt %lld)\n", next.id.c_str(),
                 to_string(next.state), static_cast<long long>(next.restarts));
  e.job = next;
  if (observer_ && from != next.state) observer_(from, next.state);
}

JobManager::Submitted JobManager::submit(const NewJob& n) {
  std::lock_guard lock(mu_);
  if (!n.idempotency_key.empty()) {
    auto it = by_key_.find(n.idempotency_key);
    if (it != by_key_.end()) {
      const Entry& e = by_seq_.at(it->second);
      if (e.job.request_hash != n.request_hash)
        throw IdempotencyConflict("Idempotency-Key \"" + n.idempotency_key + "\" was used for " +
                                  e.job.id + " with a different request body");
      return {view_locked(e), false};
    }
  }
  if (by_seq_.size() >= max_jobs_)
    throw TooManyJobs("the coordinator holds its maximum of " + std::to_string(max_jobs_) +
                      " jobs (--max-jobs); delete finished ones (DELETE /v1/jobs/{id}) first");
  Job j;
  j.seq = next_seq_;
  j.id = "job-" + std::to_string(j.seq);
  j.name = n.name;
  j.priority = n.priority;
  j.workers = n.workers;
  j.min_workers = n.min_workers > 0 ? std::min(n.min_workers, n.workers) : n.workers;
  j.cores = n.cores;
  j.gpus = n.gpus;
  j.max_restarts = n.max_restarts;
  j.backoff_ms = n.backoff_ms;
  j.state = JobState::kPending;
  j.spec = n.spec;
  j.idempotency_key = n.idempotency_key;
  j.request_hash = n.request_hash;
  j.submitted_ms = now_unix_ms();
  store_.put(j);
  ++next_seq_;
  seq_of_[j.id] = j.seq;
  if (!j.idempotency_key.empty()) by_key_[j.idempotency_key] = j.seq;
  Entry& e = by_seq_[j.seq];
  insert_pending_locked(j);
  e.job = std::move(j);
  ++version_;
  return {view_locked(e), true};
}

std::optional<JobView> JobManager::get(const std::string& id) const {
  std::lock_guard lock(mu_);
  const Entry* e = find_locked(id);
  if (!e) return std::nullopt;
  return view_locked(*e);
}

std::vector<JobView> JobManager::list(std::optional<JobState> state, size_t limit) const {
  std::lock_guard lock(mu_);
  std::vector<JobView> out;
  for (auto it = by_seq_.rbegin(); it != by_seq_.rend() && out.size() < limit; ++it) {
    if (!state || it->second.job.state == *state) out.push_back(view_locked(it->second));
  }
  std::reverse(out.begin(), out.end());
  return out;
}

JobManager::CancelResult JobManager::cancel(const std::string& id, std::optional<JobView>* view) {
  std::lock_guard lock(mu_);
  Entry* e = find_locked(id);
  if (!e) return CancelResult::kNotFound;
  CancelResult r = CancelResult::kAlreadyFinished;
  if (e->job.state == JobState::kPending) {
    Job next = e->job;
    next.state = JobState::kCancelled;
    next.reason = "cancelled by user before it started";
    next.finished_ms = now_unix_ms();
    next.cancel_requested = true;
    commit_locked(*e, next);
    r = CancelResult::kCancelled;
  } else if (e->job.state == JobState::kRunning) {
    if (!e->job.cancel_requested) {
      Job next = e->job;
      next.cancel_requested = true;
      commit_locked(*e, next);
      cancel_outbox_.push_back(id);
    }
    r = CancelResult::kCancelling;
  } else if (e->job.state == JobState::kCancelled) {
    r = CancelResult::kCancelled;
  }
  if (view) *view = view_locked(*e);
  return r;
}

JobManager::RemoveResult JobManager::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  Entry* e = find_locked(id);
  if (!e) return RemoveResult::kNotFound;
  if (!is_terminal(e->job.state)) return RemoveResult::kNotFinished;
  store_.remove(id);
  if (!e->job.idempotency_key.empty()) by_key_.erase(e->job.idempotency_key);
  const int64_t seq = e->job.seq;
  seq_of_.erase(id);
  by_seq_.erase(seq);
  return RemoveResult::kRemoved;
}

JobManager::LogChunk JobManager::read_logs(const std::string& id, int64_t from_line,
                                           int64_t max_lines) const {
  LogChunk c;
  {
    std::lock_guard lock(mu_);
    const Entry* e = find_locked(id);
    if (!e) return c;
    c.found = true;
    c.finished = is_terminal(e->job.state);
    from_line = std::clamp<int64_t>(from_line, 0, e->log_lines);
    c.next = from_line;
    if (from_line == e->log_lines) return c;
  }
  // Lines below log_lines are written and never change: read outside the lock.
  c.lines = store_.read_log(id, from_line, max_lines);
  c.next = from_line + static_cast<int64_t>(c.lines.size());
  if (c.finished) {
    std::lock_guard lock(mu_);
    const Entry* e = find_locked(id);
    c.finished = e && c.next >= e->log_lines;
  }
  return c;
}

std::vector<JobDemand> JobManager::queue(int64_t now_ms) const {
  std::lock_guard lock(mu_);
  std::vector<JobDemand> out;
  out = pending_;  // contiguous: cheap to copy even with cold caches
  std::erase_if(out, [now_ms](const JobDemand& d) { return d.not_before_ms > now_ms; });
  for (JobDemand& d : out)
    if (d.full_gang_until_ms > now_ms) d.min_workers = d.workers;
  return out;
}

int64_t JobManager::next_backoff_end_ms(int64_t now_ms) const {
  std::lock_guard lock(mu_);
  int64_t next = 0;
  for (const JobDemand& d : pending_)
    for (const int64_t t : {d.not_before_ms, d.full_gang_until_ms})
      if (t > now_ms && (next == 0 || t < next)) next = t;
  return next;
}

std::optional<Job> JobManager::start(const Placement& p) {
  std::lock_guard lock(mu_);
  Entry* e = find_locked(p.job_id);
  if (!e || e->job.state != JobState::kPending) return std::nullopt;
  Job next = e->job;
  next.state = JobState::kRunning;
  next.placement = p.worker_ids;
  next.started_ms = now_unix_ms();
  next.full_gang_until_ms = 0;
  next.reason.clear();
  commit_locked(*e, next);
  e->epochs = nlohmann::json::array();
  return e->job;
}

bool JobManager::requeue(const std::string& id, int64_t attempt, const std::string& why,
                         int64_t full_gang_until_ms) {
  std::lock_guard lock(mu_);
  Entry* e = find_locked(id);
  if (!e || e->job.state != JobState::kRunning || attempt != e->job.restarts) return false;
  Job next = e->job;
  next.reason = why;
  next.full_gang_until_ms = full_gang_until_ms;
  back_to_queue_locked(*e, std::move(next), why);
  return true;
}

void JobManager::back_to_queue_locked(Entry& e, Job next, const std::string& why) {
  next.state = JobState::kPending;
  next.placement.clear();
  next.started_ms = 0;
  next.restarts += 1;
  next.restart_reasons.push_back("restart " + std::to_string(next.restarts) + ": " + why);
  commit_locked(e, next);
  e.progress = nullptr;
  e.finished_workers.clear();
  e.rank0_result = nullptr;
}

void JobManager::set_unschedulable(const std::vector<Unschedulable>& jobs) {
  std::lock_guard lock(mu_);
  // Usually the same jobs with the same reasons as last pass: touch only what
  // changed (a pass is O(unschedulable), not O(all jobs)).
  ++flag_pass_;
  std::vector<int64_t> flagged;
  flagged.reserve(jobs.size());
  for (const auto& u : jobs) {
    auto it = by_seq_.find(u.seq);
    if (it == by_seq_.end() || it->second.job.id != u.job_id) continue;
    Entry& e = it->second;
    if (e.job.state != JobState::kPending) continue;
    if (e.unschedulable != u.reason) e.unschedulable = u.reason;
    e.flag_pass = flag_pass_;
    flagged.push_back(e.job.seq);
  }
  for (int64_t seq : flagged_)
    if (auto it = by_seq_.find(seq); it != by_seq_.end() && it->second.flag_pass != flag_pass_)
      it->second.unschedulable.clear();
  flagged_ = std::move(flagged);
}

bool JobManager::record_progress(const std::string& id, const std::string& worker,
                                 const std::string& kind, const nlohmann::json& report,
                                 int64_t attempt, int64_t* steps_redone) {
  std::lock_guard lock(mu_);
  if (steps_redone != nullptr) *steps_redone = 0;
  Entry* e = find_locked(id);
  if (!e || e->job.state != JobState::kRunning || !on_worker_locked(*e, worker, attempt))
    return false;
  if (kind == "step" && e->job.steps_at_restart >= 0) {
    const comm::StepReport r = comm::read_step_report(report);
    const int64_t redone =
        std::max<int64_t>(0, e->job.steps_at_restart - r.resumed_from_step.value_or(0));
    Job next = e->job;
    next.steps_redone += redone;
    next.steps_at_restart = -1;
    commit_locked(*e, next);
    if (steps_redone != nullptr) *steps_redone = redone;
  }
  if (kind == "epoch") {
    // Where in the log it arrived, so a follower can interleave the two.
    nlohmann::json r = report;
    r["log_line"] = e->log_lines;
    e->epochs.push_back(std::move(r));
    if (e->epochs.size() > kMaxEpochReports) e->epochs.erase(e->epochs.begin());
  } else {
    e->progress = report;
  }
  return true;
}

bool JobManager::append_logs(const std::string& id, const std::string& worker,
                             const std::vector<std::string>& lines, int64_t attempt) {
  std::lock_guard lock(mu_);
  Entry* e = find_locked(id);
  if (!e || e->job.state != JobState::kRunning || !on_worker_locked(*e, worker, attempt))
    return false;
  static const std::string kFull = "[ringmaster: log truncated at " +
                                   std::to_string(kMaxLogLinesPerJob) + " lines or " +
                                   std::to_string(kMaxLogBytesPerJob >> 20) + " MiB]";
  std::vector<std::string> keep;
  int64_t bytes = e->log_bytes;
  for (const auto& l : lines) {
    const int64_t n = e->log_lines + static_cast<int64_t>(keep.size());
    if (n >= kMaxLogLinesPerJob || bytes >= kMaxLogBytesPerJob) break;  // marked already
    std::string line = l.size() <= kMaxLogLineBytes
                           ? l
                           : l.substr(0, kMaxLogLineBytes) + " [ringmaster: line cut at " +
                                 std::to_string(kMaxLogLineBytes) + " bytes]";
    // The last line that fits says the log is full.
    if (n == kMaxLogLinesPerJob - 1 ||
        bytes + static_cast<int64_t>(line.size() + kFull.size()) > kMaxLogBytesPerJob) {
      keep.push_back(kFull);
      bytes = kMaxLogBytesPerJob;
      break;
    }
    bytes += static_cast<int64_t>(line.size());
    keep.push_back(std::move(line));
  }
  if (keep.empty()) return true;
  store_.append_log(id, e->log_lines, keep);
  e->log_lines += static_cast<int64_t>(keep.size());
  e->log_bytes = bytes;
  return true;
}

bool JobManager::finish(const std::string& id, const std::string& worker,
                        const nlohmann::json& result, bool cancelled, int64_t attempt) {
  std::lock_guard lock(mu_);
  Entry* e = find_locked(id);
  if (!e || e->job.state != JobState::kRunning || !on_worker_locked(*e, worker, attempt))
    return false;
  if (e->job.placement.size() > 1 && !cancelled) {
    e->finished_workers.insert(worker);
    if (worker == e->job.placement.front()) e->rank0_result = result;
    if (e->finished_workers.size() < e->job.placement.size()) return true;
  }
  Job next = e->job;
  next.state = cancelled ? JobState::kCancelled : JobState::kSucceeded;
  next.result = e->job.placement.size() > 1 && !cancelled ? e->rank0_result : result;
  next.finished_ms = now_unix_ms();
  if (cancelled) next.reason = "cancelled by user";
  commit_locked(*e, next);
  return true;
}

bool JobManager::fail(const std::string& id, const std::string& worker, const std::string& reason,
                      int64_t attempt) {
  std::lock_guard lock(mu_);
  Entry* e = find_locked(id);
  if (!e || e->job.state != JobState::kRunning) return false;
  if (attempt >= 0 && attempt != e->job.restarts) return false;
  if (!worker.empty() && !on_worker_locked(*e, worker)) return false;
  Job next = e->job;
  next.state = e->job.cancel_requested ? JobState::kCancelled : JobState::kFailed;
  next.reason = e->job.cancel_requested ? "cancelled by user (" + reason + ")" : reason;
  next.finished_ms = now_unix_ms();
  commit_locked(*e, next);
  return true;
}

JobManager::RestartResult JobManager::restart(const std::string& id, int64_t attempt,
                                              const std::string& reason, Job* before) {
  std::lock_guard lock(mu_);
  Entry* e = find_locked(id);
  if (!e || e->job.state != JobState::kRunning || attempt != e->job.restarts)
    return RestartResult::kIgnored;
  if (before != nullptr) *before = e->job;
  Job next = e->job;
  const int64_t now = now_unix_ms();
  if (next.cancel_requested || next.death_restarts >= next.max_restarts) {
    next.state = next.cancel_requested ? JobState::kCancelled : JobState::kFailed;
    std::string earlier;
    for (const std::string& r : next.restart_reasons) {
      if (!earlier.empty()) earlier += "; ";
      earlier += r;
    }
    next.reason = next.cancel_requested ? "cancelled by user (" + reason + ")"
                  : next.max_restarts == 0
                      ? reason + " (restart_policy.max_restarts is 0)"
                      : reason + " (restart_policy.max_restarts " +
                            std::to_string(next.max_restarts) + " reached; " + earlier + ")";
    next.finished_ms = now;
    commit_locked(*e, next);
    return RestartResult::kFailed;
  }
  next.death_restarts += 1;
  if (e->progress.is_object()) {
    const comm::StepReport last = comm::read_step_report(e->progress);
    if (last.steps_total) next.steps_at_restart = *last.steps_total;
  }
  next.reason = "restarting: " + reason;
  next.not_before_ms = now + next.backoff_ms;
  back_to_queue_locked(*e, std::move(next), reason);
  return RestartResult::kRestarted;
}

std::vector<Job> JobManager::take_cancel_requests() {
  std::lock_guard lock(mu_);
  std::vector<Job> out;
  for (const auto& id : cancel_outbox_) {
    if (const Entry* e = find_locked(id); e && e->job.state == JobState::kRunning)
      out.push_back(e->job);
  }
  cancel_outbox_.clear();
  return out;
}

std::vector<Job> JobManager::running() const {
  std::lock_guard lock(mu_);
  std::vector<Job> out;
  for (const auto& [seq, e] : by_seq_)
    if (e.job.state == JobState::kRunning) out.push_back(e.job);
  return out;
}

bool JobManager::runs_on(const std::string& id, const std::string& worker) const {
  std::lock_guard lock(mu_);
  const Entry* e = find_locked(id);
  return e && e->job.state == JobState::kRunning && on_worker_locked(*e, worker);
}

std::map<JobState, int64_t> JobManager::counts() const {
  std::lock_guard lock(mu_);
  std::map<JobState, int64_t> out;
  for (JobState s : {JobState::kPending, JobState::kRunning, JobState::kSucceeded,
                     JobState::kFailed, JobState::kCancelled})
    out[s] = 0;
  for (const auto& [seq, e] : by_seq_) ++out[e.job.state];
  return out;
}

std::optional<JobState> JobManager::state_of(const std::string& id) const {
  std::lock_guard lock(mu_);
  const Entry* e = find_locked(id);
  if (!e) return std::nullopt;
  return e->job.state;
}

int64_t JobManager::unschedulable_count() const {
  std::lock_guard lock(mu_);
  int64_t n = 0;
  for (int64_t seq : flagged_)
    if (auto it = by_seq_.find(seq); it != by_seq_.end() &&
                                     it->second.job.state == JobState::kPending &&
                                     !it->second.unschedulable.empty())
      ++n;
  return n;
}

}  // namespace ringmaster::coordinator
