// Job state names and the stored JSON form (see job.h).
#include "coordinator/job.h"

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace ringmaster::coordinator {

namespace {
constexpr const char* kNames[] = {"PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"};
}

const char* to_string(JobState s) { return kNames[static_cast<int>(s)]; }

std::optional<JobState> parse_job_state(std::string_view s) {
  for (int i = 0; i < 5; ++i) {
    const std::string_view name = kNames[i];
    if (name.size() != s.size()) continue;
    bool same = true;
    for (size_t k = 0; k < s.size(); ++k) same = same && std::toupper(s[k]) == name[k];
    if (same) return static_cast<JobState>(i);
  }
  return std::nullopt;
}

bool is_terminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

nlohmann::json job_to_json(const Job& j) {
  return {{"id", j.id},
          {"seq", j.seq},
          {"name", j.name},
          {"priority", j.priority},
          {"workers", j.workers},
          {"cores", j.cores},
          {"gpus", j.gpus},
          {"min_workers", j.min_workers},
          {"full_gang_until_ms", j.full_gang_until_ms},
          {"state", to_string(j.state)},
          {"spec", j.spec},
          {"idempotency_key", j.idempotency_key},
          {"request_hash", j.request_hash},
          {"submitted_ms", j.submitted_ms},
          {"started_ms", j.started_ms},
          {"finished_ms", j.finished_ms},
          {"restarts", j.restarts},
          {"restart_reasons", j.restart_reasons},
          {"death_restarts", j.death_restarts},
          {"max_restarts", j.max_restarts},
          {"backoff_ms", j.backoff_ms},
          {"not_before_ms", j.not_before_ms},
          {"steps_redone", j.steps_redone},
          {"steps_at_restart", j.steps_at_restart},
          {"placement", j.placement},
          {"reason", j.reason},
          {"result", j.result},
          {"cancel_requested", j.cancel_requested}};
}

Job job_from_json(const nlohmann::json& d) {
  Job j;
  j.id = d.at("id").get<std::string>();
  j.seq = d.at("seq").get<int64_t>();
  j.name = d.at("name").get<std::string>();
  j.priority = d.at("priority").get<int64_t>();
  j.workers = d.at("workers").get<int64_t>();
  j.cores = d.at("cores").get<int64_t>();
  j.gpus = d.at("gpus").get<int64_t>();
  j.min_workers = d.value("min_workers", j.workers);  // stores before elastic jobs
  j.full_gang_until_ms = d.value("full_gang_until_ms", int64_t{0});
  const auto state = parse_job_state(d.at("state").get<std::string>());
  if (!state) throw nlohmann::json::other_error::create(501, "unknown job state", &d);
  j.state = *state;
  j.spec = d.at("spec");
  j.idempotency_key = d.at("idempotency_key").get<std::string>();
  j.request_hash = d.at("request_hash").get<uint64_t>();
  j.submitted_ms = d.at("submitted_ms").get<int64_t>();
  j.started_ms = d.at("started_ms").get<int64_t>();
  j.finished_ms = d.at("finished_ms").get<int64_t>();
  j.restarts = d.at("restarts").get<int64_t>();
  // Absent from documents stored before restarts were automatic.
  j.restart_reasons = d.value("restart_reasons", std::vector<std::string>{});
  j.death_restarts = d.value("death_restarts", int64_t{0});
  j.max_restarts = d.value("max_restarts", int64_t{0});
  j.backoff_ms = d.value("backoff_ms", int64_t{0});
  j.not_before_ms = d.value("not_before_ms", int64_t{0});
  j.steps_redone = d.value("steps_redone", int64_t{0});
  j.steps_at_restart = d.value("steps_at_restart", int64_t{-1});
  j.placement = d.at("placement").get<std::vector<std::string>>();
  j.reason = d.at("reason").get<std::string>();
  j.result = d.at("result");
  j.cancel_requested = d.at("cancel_requested").get<bool>();
  return j;
}

int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_time_ms(int64_t ms) {
  if (ms <= 0) return "";
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%.*s.%03dZ", static_cast<int>(n), buf,
                static_cast<int>(ms % 1000));
  return out;
}

}  // namespace ringmaster::coordinator
