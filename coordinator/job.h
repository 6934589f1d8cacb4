// A job as the coordinator keeps it: its state machine (PENDING -> RUNNING ->
// SUCCEEDED | FAILED | CANCELLED), the normalised spec, placement, result and
// timestamps, and its JSON form for the store. Plain data; no behaviour
// beyond (de)serialisation and the state names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringmaster::coordinator {

enum class JobState { kPending, kRunning, kSucceeded, kFailed, kCancelled };

const char* to_string(JobState s);                            // "PENDING", ...
std::optional<JobState> parse_job_state(std::string_view s);  // case-insensitive
bool is_terminal(JobState s);

struct Job {
  std::string id;   // "job-42"
  int64_t seq = 0;  // submission order, never reused
  std::string name;
  int64_t priority = 0;
  int64_t workers = 1, cores = 1, gpus = 0;  // resources per gang member
  // Elastic data-parallel: it may run on min_workers..workers workers. After
  // it went back to the queue to grow, it waits for the whole gang until
  // full_gang_until_ms (Unix ms; 0: no such wait).
  int64_t min_workers = 1, full_gang_until_ms = 0;
  JobState state = JobState::kPending;
  nlohmann::json spec;  // normalised spec, as workers receive it
  std::string idempotency_key;
  uint64_t request_hash = 0;  // of the submitted body, for Idempotency-Key reuse checks
  int64_t submitted_ms = 0, started_ms = 0, finished_ms = 0;  // Unix time, ms; 0: not yet
  // Times it went back to the queue after starting (a worker died, or the
  // gang could not be assembled), each with its reason; a run's attempt
  // number is the restarts before it. Those after a death (death_restarts)
  // are at most max_restarts, each no sooner than backoff_ms (not_before_ms:
  // Unix ms, 0 none); a gang that could not be assembled never ran and is
  // queued again at once, uncounted.
  int64_t restarts = 0, death_restarts = 0;
  std::vector<std::string> restart_reasons;
  int64_t max_restarts = 0, backoff_ms = 0, not_before_ms = 0;
  // Steps trained again after restarts: at a restart the steps its last
  // report had reached are kept (steps_at_restart, -1 none); the next
  // attempt's first report says where it resumed, and the difference adds up.
  int64_t steps_redone = 0, steps_at_restart = -1;
  std::vector<std::string> placement;  // worker ids while / after running
  std::string reason;                  // why it failed or was cancelled
  nlohmann::json result;               // the trainer's result; null until finished
  bool cancel_requested = false;
};

// The stored form (everything above) and back. job_from_json throws
// nlohmann::json::exception on a malformed document.
nlohmann::json job_to_json(const Job& j);
Job job_from_json(const nlohmann::json& j);

int64_t now_unix_ms();
std::string format_time_ms(int64_t unix_ms);  // "2024-05-01T12:00:00.123Z"; "" for 0

}  // namespace ringmaster::coordinator
