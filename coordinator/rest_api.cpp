// REST routes and handlers (see rest_api.h). Errors are problem+json with a
// title a human reads and, for a bad spec, `invalid_params` naming each field
// by JSON pointer.
#include "coordinator/rest_api.h"

#include <charconv>

namespace ringmaster::coordinator {
namespace {

HttpResponse json_response(int status, const nlohmann::json& j) {
  HttpResponse r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse not_found(const std::string& what) { return problem(404, "Not Found", what); }

HttpResponse method_not_allowed(const std::string& allow) {
  HttpResponse r = problem(405, "Method Not Allowed", "allowed: " + allow);
  r.headers.emplace_back("Allow", allow);
  return r;
}

// Constant-time comparison, so the token cannot be guessed byte by byte.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::string& longer = a.size() >= b.size() ? a : b;
  for (size_t i = 0; i < longer.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

bool parse_nonnegative(const std::string& s, int64_t& out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && out >= 0;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

nlohmann::json time_or_null(int64_t ms) {
  return ms > 0 ? nlohmann::json(format_time_ms(ms)) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json job_json(const JobView& v, bool full) {
  const Job& j = v.job;
  nlohmann::json out = {
      {"id", j.id},
      {"name", j.name},
      {"state", to_string(j.state)},
      {"priority", j.priority},
      {"resources",
       {{"workers", j.workers},
        {"min_workers", j.min_workers},
        {"cores", j.cores},
        {"gpus", j.gpus}}},
      {"submitted_at", time_or_null(j.submitted_ms)},
      {"started_at", time_or_null(j.started_ms)},
      {"finished_at", time_or_null(j.finished_ms)},
      {"restarts", j.restarts},
      {"restart_reasons", j.restart_reasons},
      {"steps_redone", j.steps_redone},
      {"restart_policy", {{"max_restarts", j.max_restarts}, {"backoff_s", j.backoff_ms / 1000.0}}},
      {"placement", j.placement},
      {"cancel_requested", j.cancel_requested},
      {"progress", v.progress},
      {"log_lines", v.log_lines}};
  if (!j.reason.empty()) out["reason"] = j.reason;
  if (!v.unschedulable.empty()) out["unschedulable"] = v.unschedulable;
  if (!j.result.is_null()) out["result"] = j.result;
  if (full) {
    out["epochs"] = v.epochs;
    out["spec"] = j.spec;
  }
  return out;
}

RestApi::RestApi(JobManager& jobs, WorkerRegistry& workers, RestOptions options)
    : jobs_(jobs), workers_(workers), options_(std::move(options)) {}

HttpResponse RestApi::handle(const HttpRequest& req) const {
  const std::string& path = req.path;
  const std::string& m = req.method;
  if (path == "/healthz") {
    if (m != "GET") return method_not_allowed("GET");
    return json_response(200, {{"status", "ok"}});
  }
  if (!options_.token.empty()) {
    const bool submitting = m == "POST" && (path == "/v1/jobs" || path == "/v1/jobs/");
    const std::string auth = req.header("authorization");
    const std::string prefix = "Bearer ";
    if (auth.empty() || auth.compare(0, prefix.size(), prefix) != 0) {
      HttpResponse r = problem(401, "Unauthorized",
                               "this coordinator needs a bearer token (Authorization: Bearer ...)");
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ringmaster\"");
      return submitting ? reject(Rejection::kUnauthorized, std::move(r)) : r;
    }
    if (!same_secret(auth.substr(prefix.size()), options_.token)) {
      HttpResponse r = problem(401, "Unauthorized", "the bearer token is not valid");
      r.headers.emplace_back("WWW-Authenticate",
                             "Bearer realm=\"ringmaster\", error=\"invalid_token\"");
      return submitting ? reject(Rejection::kUnauthorized, std::move(r)) : r;
    }
  }
  if (path == "/metrics") return m == "GET" ? metrics() : method_not_allowed("GET");
  if (path == "/v1/workers") return m == "GET" ? list_workers() : method_not_allowed("GET");
  if (path == "/v1/jobs" || path == "/v1/jobs/") {
    if (m == "POST") return submit(req);
    if (m == "GET") return list_jobs(req);
    return method_not_allowed("GET, POST");
  }
  const std::string prefix = "/v1/jobs/";
  if (path.compare(0, prefix.size(), prefix) == 0) {
    const std::string rest = path.substr(prefix.size());
    const size_t slash = rest.find('/');
    const std::string id = rest.substr(0, slash);
    const std::string sub = slash == std::string::npos ? "" : rest.substr(slash);
    if (sub.empty()) {
      if (m == "GET") return get_job(id);
      if (m == "DELETE") return delete_job(id);
      return method_not_allowed("GET, DELETE");
    }
    if (sub == "/logs") return m == "GET" ? job_logs(req, id) : method_not_allowed("GET");
    if (sub == "/cancel") return m == "POST" ? cancel_job(id) : method_not_allowed("POST");
  }
  return not_found("no route for " + m + " " + path);
}

HttpResponse RestApi::submit(const HttpRequest& req) const {
  const std::string type = req.header("content-type");
  if (!type.empty() && type.find("json") == std::string::npos)
    return reject(Rejection::kUnsupportedMediaType,
                  problem(415, "Unsupported Media Type", "send the job spec as application/json"));
  const std::string key = req.header("idempotency-key");
  if (key.size() > 255)
    return reject(
        Rejection::kBadRequest,
        problem(400, "Bad Request", "", {{"Idempotency-Key", "must be at most 255 characters"}}));
  Submission s;
  try {
    s = validate_submission(req.body, options_.policy);
  } catch (const models::SpecError& e) {
    std::vector<std::pair<std::string, std::string>> params;
    for (const auto& p : e.problems()) params.emplace_back(p.pointer, p.reason);
    return reject(Rejection::kInvalidSpec,
                  problem(400, "Invalid job spec",
                          std::to_string(params.size()) +
                              (params.size() == 1 ? " problem" : " problems") + " in the job spec",
                          params));
  }
  NewJob n;
  n.name = s.spec.name;
  n.priority = s.spec.priority;
  n.workers = s.spec.resources.workers;
  n.min_workers = s.spec.resources.min_workers;
  n.cores = s.spec.resources.cores;
  n.gpus = s.spec.resources.gpus;
  const training::RestartPolicy restart = s.spec.restart_policy.value_or(
      training::RestartPolicy{options_.policy.max_restarts, options_.policy.restart_backoff_s});
  n.max_restarts = restart.max_restarts;
  n.backoff_ms = static_cast<int64_t>(restart.backoff_s * 1000.0);
  n.spec = std::move(s.normalised);
  n.idempotency_key = key;
  n.request_hash = fingerprint(req.body);
  JobManager::Submitted out;
  try {
    out = jobs_.submit(n);
  } catch (const IdempotencyConflict& e) {
    return reject(Rejection::kIdempotencyConflict,
                  problem(422, "Idempotency-Key reused", e.what()));
  } catch (const TooManyJobs& e) {
    HttpResponse r = problem(503, "Job store full", e.what());
    r.headers.emplace_back("Retry-After", "60");
    return reject(Rejection::kStoreFull, std::move(r));
  } catch (const StoreError& e) {
    return reject(Rejection::kStoreUnavailable, problem(503, "Job store unavailable", e.what()));
  }
  if (out.created && options_.metrics) options_.metrics->submitted();
  HttpResponse r = json_response(out.created ? 201 : 200, job_json(out.view, true));
  r.headers.emplace_back("Location", "/v1/jobs/" + out.view.job.id);
  if (!out.created) r.headers.emplace_back("Idempotent-Replayed", "true");
  return r;
}

HttpResponse RestApi::list_jobs(const HttpRequest& req) const {
  std::optional<JobState> state;
  if (auto it = req.query.find("state"); it != req.query.end() && !it->second.empty()) {
    state = parse_job_state(it->second);
    if (!state)
      return problem(400, "Bad Request", "",
                     {{"state", "must be one of PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED"}});
  }
  int64_t limit = 1000;
  if (auto it = req.query.find("limit"); it != req.query.end()) {
    if (!parse_nonnegative(it->second, limit) || limit < 1 || limit > 100000)
      return problem(400, "Bad Request", "", {{"limit", "must be an integer in [1, 100000]"}});
  }
  nlohmann::json list = nlohmann::json::array();
  for (const auto& v : jobs_.list(state, static_cast<size_t>(limit)))
    list.push_back(job_json(v, false));
  return json_response(200, {{"jobs", std::move(list)}});
}

HttpResponse RestApi::get_job(const std::string& id) const {
  auto v = jobs_.get(id);
  if (!v) return not_found("no job " + id);
  return json_response(200, job_json(*v, true));
}

HttpResponse RestApi::job_logs(const HttpRequest& req, const std::string& id) const {
  int64_t since = 0;
  if (auto it = req.query.find("since"); it != req.query.end()) {
    if (!parse_nonnegative(it->second, since))
      return problem(400, "Bad Request", "", {{"since", "must be a non-negative integer"}});
  }
  bool follow = false;
  if (auto it = req.query.find("follow"); it != req.query.end()) {
    if (it->second != "0" && it->second != "1" && it->second != "true" && it->second != "false")
      return problem(400, "Bad Request", "", {{"follow", "must be 1 or 0"}});
    follow = it->second == "1" || it->second == "true";
  }
  JobManager::LogChunk first = jobs_.read_logs(id, since, 100000);
  if (!first.found) return not_found("no job " + id);
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  if (!follow) {
    r.body = join_lines(first.lines);
    r.headers.emplace_back("X-Next-Line", std::to_string(first.next));
    r.headers.emplace_back("X-Job-Finished", first.finished ? "true" : "false");
    return r;
  }
  // Stream: what there is now, then new lines as they come, until the job ends.
  auto cursor = std::make_shared<int64_t>(first.next);
  auto pending = std::make_shared<std::string>(join_lines(first.lines));
  auto finished = std::make_shared<bool>(first.finished);
  JobManager& jobs = jobs_;
  r.stream = [&jobs, id, cursor, pending, finished](bool& done) {
    std::string out = std::move(*pending);
    pending->clear();
    if (*finished) {
      done = true;
      return out;
    }
    JobManager::LogChunk c = jobs.read_logs(id, *cursor, 1000);
    *cursor = c.next;
    out += join_lines(c.lines);
    done = !c.found || c.finished;
    return out;
  };
  return r;
}

HttpResponse RestApi::cancel_job(const std::string& id) const {
  std::optional<JobView> v;
  JobManager::CancelResult r;
  try {
    r = jobs_.cancel(id, &v);
  } catch (const StoreError& e) {
    return problem(503, "Job store unavailable", e.what());
  }
  switch (r) {
    case JobManager::CancelResult::kNotFound:
      return not_found("no job " + id);
    case JobManager::CancelResult::kCancelling:
      return json_response(202, job_json(*v, false));
    default:
      return json_response(200, job_json(*v, false));
  }
}

HttpResponse RestApi::delete_job(const std::string& id) const {
  JobManager::RemoveResult r;
  try {
    r = jobs_.remove(id);
  } catch (const StoreError& e) {
    return problem(503, "Job store unavailable", e.what());
  }
  switch (r) {
    case JobManager::RemoveResult::kNotFound:
      return not_found("no job " + id);
    case JobManager::RemoveResult::kNotFinished:
      return problem(409, "Conflict", "job " + id + " has not finished; cancel it first");
    default: {
      HttpResponse ok;
      ok.status = 204;
      return ok;
    }
  }
}

HttpResponse RestApi::list_workers() const {
  nlohmann::json list = nlohmann::json::array();
  for (const WorkerInfo& w : workers_.list()) {
    nlohmann::json tasks = nlohmann::json::array();
    for (const auto& [job, t] : w.tasks) tasks.push_back(job);
    nlohmann::json j = {{"id", w.id},
                        {"hostname", w.hostname},
                        {"pid", w.pid},
                        {"state", w.alive ? "ALIVE" : "DEAD"},
                        {"cores", w.cores},
                        {"memory_bytes", w.memory_bytes},
                        {"gpus", w.gpus},
                        {"slots", w.slots},
                        {"tasks", tasks},
                        {"registered_at", time_or_null(w.registered_ms)},
                        {"last_seen_at", time_or_null(w.last_seen_ms)}};
    if (!w.alive) j["reason"] = w.dead_reason;
    list.push_back(std::move(j));
  }
  return json_response(200, {{"workers", std::move(list)}});
}

HttpResponse RestApi::metrics() const {
  if (!options_.metrics_text) return not_found("no metrics here");
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = options_.metrics_text();
  return r;
}

HttpResponse RestApi::reject(Rejection why, HttpResponse r) const {
  if (options_.metrics) options_.metrics->rejected(why);
  return r;
}

}  // namespace ringmaster::coordinator
