// The agent loop (see agent.h). The loop thread owns the DEALER socket; the
// task thread only pushes events into a mutex-guarded queue that the loop
// drains and sends. Every send is paced: register at most once a second,
// heartbeats at the interval the coordinator gave, unacknowledged reports
// every two seconds, and the whole loop ends when the coordinator has been
// silent for coordinator_timeout.
#include "worker/agent.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "comm/transport.h"
#include "ops/check.h"
#include "ops/device_memory.h"
#include "training/job_spec.h"
#include "training/path_roots.h"
#include "training/trainer.h"
#include "worker/gpu_placement.h"
#include "worker/progress_json.h"
#include "worker/worker_metrics.h"

namespace ringmaster::worker {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

std::string default_name() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "worker");
  std::string h;
  for (const char* p = host; *p; ++p) {
    const char c = *p;
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    h.push_back(ok ? c : '-');
  }
  return h + "-" + std::to_string(::getpid());
}

std::string hostname() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0) return "unknown";
  return host;
}

// Events from the task thread to the loop.
struct Event {
  enum Kind { kLog, kStep, kEpoch } kind;
  std::string line;
  nlohmann::json report;
};

// A running task: its thread, cancel flag and outbox.
struct Task {
  std::string job_id;
  int64_t attempt = 0;  // the job's restarts when assigned: > 0 resumes from its checkpoint
  WorkerMetrics* metrics = nullptr;
  std::thread thread;
  std::atomic<bool> cancel{false};
  bool cancel_by_user = false;  // loop thread only
  std::mutex mu;
  std::deque<Event> events;
  bool done = false;
  std::string state;  // "succeeded" | "failed" | "cancelled" once done
  nlohmann::json result;
  std::string reason;
  bool peer_lost = false;  // failed because a data-parallel peer died
  // Data-parallel: this rank's place, the endpoint it asks the loop to
  // publish, and the peers the coordinator sends back (guarded by mu).
  int rank = 0, world_size = 1;
  std::string ring_public_key, ring_secret_key;  // the job's, with CURVE (set before the thread)
  std::string endpoint, nccl_id;
  std::optional<training::Peers> peers;
  std::condition_variable peers_cv;
};

class Sink : public training::ProgressSink {
 public:
  explicit Sink(Task& t) : t_(t) {}
  void on_log(const std::string& line) override { push({Event::kLog, line, nullptr}); }
  void on_step(const training::StepProgress& p) override {
    if (t_.metrics != nullptr) t_.metrics->observe_step(p.step_seconds, p.samples);
    // Every step's time and samples reach the coordinator's metrics: a report
    // carries the task's samples so far and the step times since the last one.
    samples_ += p.samples;
    if (step_seconds_.size() < kMaxStepTimes) step_seconds_.push_back(p.step_seconds);
    // At most five step reports a second: enough for a smooth bar.
    const auto now = Clock::now();
    if (p.step != p.steps_per_epoch && now - last_ < milliseconds(200)) return;
    last_ = now;
    comm::StepReport report = to_report(p);
    report.samples_total = samples_;
    report.step_seconds = std::move(step_seconds_);
    step_seconds_.clear();
    push({Event::kStep, {}, comm::to_json(report)});
  }
  void on_epoch(const training::EpochReport& r) override {
    push({Event::kEpoch, {}, comm::to_json(to_report(r))});
  }

 private:
  void push(Event e) {
    std::lock_guard lock(t_.mu);
    if (t_.events.size() < 10000) t_.events.push_back(std::move(e));
  }
  static constexpr size_t kMaxStepTimes = 1000;  // per report; more are counted, not timed
  Task& t_;
  Clock::time_point last_{};
  int64_t samples_ = 0;
  std::vector<double> step_seconds_;
};

// The task thread's side of the rendezvous: hands the endpoint to the loop
// (which sends it to the coordinator, again every second until answered) and
// waits for the peers.
training::Peers await_peers(Task& t, const std::string& endpoint, const std::string& nccl_id,
                            milliseconds timeout) {
  std::unique_lock lock(t.mu);
  t.endpoint = endpoint;
  t.nccl_id = nccl_id;
  const auto deadline = Clock::now() + timeout;
  while (!t.peers) {
    RM_THROW_IF(t.cancel.load(), "rendezvous: cancelled");
    RM_THROW_IF(Clock::now() >= deadline, "rendezvous: the coordinator did not send the peers of ",
                t.job_id, " within ", timeout.count() / 1000.0,
                " s (a rank never started, or the coordinator restarted)");
    t.peers_cv.wait_for(lock, milliseconds(100));
  }
  return *t.peers;
}

void run_task(Task& t, nlohmann::json spec_json, int64_t threads, std::string host,
              std::vector<int> offered_gpus, const training::PathRoots& roots) {
  Sink sink(t);
  std::string state, reason;
  nlohmann::json result;
  bool peer_lost = false;
  try {
    training::JobSpec spec = training::parse_job_spec(spec_json);
    training::confine_paths(spec, roots);  // before anything is opened
    if (spec.train.threads == 0 && threads > 0) spec.train.threads = threads;
    training::DataParallel dp;
    dp.rank = t.rank;
    dp.world_size = t.world_size;
    dp.host = host;
    dp.job_id = t.job_id;
    dp.ring_public_key = t.ring_public_key;
    dp.ring_secret_key = t.ring_secret_key;
    dp.generation = static_cast<uint64_t>(t.attempt);
    const auto timeout = milliseconds(static_cast<int64_t>(spec.sync.timeout_s * 1000.0));
    dp.rendezvous = [&t, timeout](const std::string& endpoint, const std::string& nccl_id) {
      return await_peers(t, endpoint, nccl_id, timeout);
    };
    // One task at a time: none of the offered GPUs is held by another.
    const std::vector<int> gpus = gpus_for_task(offered_gpus, {}, spec.resources.gpus);
    training::RunOptions run;
    run.cancel = &t.cancel;
    run.dp = t.world_size > 1 ? &dp : nullptr;
    run.gpus = gpus;
    run.resume = t.attempt > 0;
    training::TrainResult r = training::run_training(spec, sink, run);
    result = to_json(r);
    state = r.cancelled ? "cancelled" : "succeeded";
  } catch (const models::SpecError& e) {
    state = "failed";
    reason = std::string("invalid spec: ") + e.what();
  } catch (const training::PeerLost& e) {
    state = "failed";
    reason = e.what();
    peer_lost = true;
  } catch (const std::exception& e) {
    state = "failed";
    reason = e.what();
  }
  // A wait on the peers that gave up because of the cancel (the ring's
  // handshake, a rendezvous) ends the run as cancelled, not failed.
  if (state == "failed" && t.cancel.load()) state = "cancelled";
  std::lock_guard lock(t.mu);
  t.state = state;
  t.reason = reason;
  t.result = result;
  t.peer_lost = peer_lost;
  t.done = true;
}

// A final report not yet acknowledged by the coordinator.
struct Report {
  std::string state;  // succeeded | failed | cancelled
  nlohmann::json result;
  std::string reason;
  bool peer_lost = false;
  Clock::time_point last_sent{};
  int sends = 0;
};

constexpr int kMaxReportSends = 150;  // every 2 s: five minutes

class Loop {
 public:
  Loop(const AgentOptions& o, const std::atomic<bool>& stop)
      : o_(o),
        stop_(stop),
        socket_(
            std::make_unique<comm::Socket>(ctx_, comm::SocketKind::kDealer, socket_options(o))) {
    socket_->connect(o.coordinator);
  }

  // libzmq does not retry a CURVE handshake the coordinator refused (a key
  // not yet in its allowlist): a fresh socket tries again.
  void reconnect_if_unheard(Clock::time_point now) {
    if (o_.curve_secret_key.empty() || now - last_heard_ < seconds(5) ||
        now - last_reconnect_ < seconds(5))
      return;
    last_reconnect_ = now;
    socket_ = std::make_unique<comm::Socket>(ctx_, comm::SocketKind::kDealer, socket_options(o_));
    socket_->connect(o_.coordinator);
  }

  static comm::SocketOptions socket_options(const AgentOptions& o) {
    comm::SocketOptions so{.identity = o.name, .immediate = true, .linger_ms = 1000};
    so.curve_secret_key = o.curve_secret_key;
    so.curve_public_key = o.curve_public_key;
    so.curve_server_key = o.coordinator_key;
    so.heartbeat_ms = o.curve_secret_key.empty() ? 0 : 3000;
    return so;
  }

  // After run(): a task was left running (see leave_task).
  bool left_task() const { return left_task_; }

  int run() {
    last_heard_ = Clock::now();
    int code = 0;
    while (true) {
      if (stop_.load() && !stopping_) begin_stop();
      auto env = socket_->receive(milliseconds(50));
      for (int n = 0; env && n < 100; ++n) {
        handle(*env);
        env = socket_->receive(milliseconds(0));
      }
      const auto now = Clock::now();
      reconnect_if_unheard(now);
      pump_task();
      if (stopping_ && !task_) break;
      if (stopping_ && now - stop_began_ > o_.shutdown_grace) {
        log("task " + task_->job_id + " did not stop within the shutdown grace; leaving it");
        leave_task();
        break;
      }
      if (!registered_ && now - last_register_ >= milliseconds(1000)) send_register(now);
      if (registered_ && now - last_heartbeat_ >= heartbeat_interval_) send_heartbeat(now);
      resend_reports(now);
      if (now - last_heard_ > o_.coordinator_timeout) {
        log("no word from the coordinator at " + o_.coordinator + " for " +
            std::to_string(o_.coordinator_timeout.count() / 1000) + " s; giving up" +
            (o_.curve_secret_key.empty()
                 ? std::string(" (a coordinator with CURVE needs --curve-key and "
                               "--coordinator-key)")
                 : std::string(" (CURVE: is --coordinator-key the coordinator's, and this "
                               "worker's public key in its allowlist?)")));
        code = 3;
        if (task_) {
          task_->cancel = true;
          if (task_->thread.joinable()) task_->thread.join();
        }
        break;
      }
    }
    return code;
  }

 private:
  void log(const std::string& s) {
    if (o_.verbose) std::fprintf(stderr, "worker %s: %s\n", o_.name.c_str(), s.c_str());
  }

  void send(const comm::Message& m) { socket_->send("", m); }

  // Its thread runs on (blocked in a collective, say, until its timeout)
  // with the Task it owns, which is let go of so that nothing destroys it
  // under the thread (before, destroying the joinable thread aborted the
  // worker). The process is expected to end soon (see Agent::run).
  void leave_task() {
    task_->thread.detach();
    static_cast<void>(task_.release());
    left_task_ = true;
  }

  nlohmann::json tasks_json() const {
    nlohmann::json tasks = nlohmann::json::array();
    if (task_)
      tasks.push_back(
          {{"job_id", task_->job_id}, {"state", "running"}, {"attempt", task_->attempt}});
    for (const auto& [key, r] : reports_) {
      nlohmann::json t = {{"job_id", key.first}, {"attempt", key.second}, {"state", r.state}};
      if (r.result.is_object()) t["result"] = r.result;  // a failure has none
      if (!r.reason.empty()) t["reason"] = r.reason;
      if (r.peer_lost) t["peer_lost"] = true;
      tasks.push_back(std::move(t));
    }
    return tasks;
  }

  void send_register(Clock::time_point now) {
    last_register_ = now;
    send({"register",
          {{"hostname", hostname()},
           {"pid", static_cast<int64_t>(::getpid())},
           {"cores", o_.cores},
           {"memory_bytes", o_.memory_bytes},
           {"gpus", static_cast<int64_t>(o_.gpus->size())},
           {"slots", 1},
           {"tasks", tasks_json()}},
          {}});
  }

  void send_heartbeat(Clock::time_point now) {
    last_heartbeat_ = now;
    nlohmann::json running = nlohmann::json::array();
    if (task_) running.push_back(task_->job_id);
    send({"heartbeat", {{"running", running}}, {}});
  }

  void handle(const comm::Envelope& env) {
    comm::Message m;
    try {
      m = comm::decode(env.frames, env.overflow);
    } catch (const comm::ProtocolError& e) {
      log(std::string("bad message from the coordinator: ") + e.what());
      send(comm::make_error(e.code(), e.what()));
      return;
    }
    last_heard_ = Clock::now();
    const auto& h = m.header;
    if (m.type == "registered") {
      if (!registered_) log("registered with " + o_.coordinator);
      registered_ = true;
      if (o_.metrics != nullptr) o_.metrics->set_registered(true);
      heartbeat_interval_ = milliseconds(h["heartbeat_interval_ms"].get<int64_t>());
      for (auto& [id, r] : reports_) r.last_sent = {};  // resend now
    } else if (m.type == "heartbeat_ack") {
    } else if (m.type == "assign") {
      on_assign(h["job_id"], h["spec"], h["threads"], h.value("rank", int64_t{0}),
                h.value("world_size", int64_t{1}), h.value("attempt", int64_t{0}),
                h.value("ring_public_key", std::string()),
                h.value("ring_secret_key", std::string()));
    } else if (m.type == "peers") {
      const std::string id = h["job_id"];
      if (task_ && task_->job_id == id) {
        std::lock_guard lock(task_->mu);
        task_->peers = training::Peers{h["ring"].get<std::vector<std::string>>(),
                                       h.value("ps", std::vector<std::string>{}),
                                       h.value("nccl_id", std::string())};
        // Shards of a coordinator bound to every interface: dial the address
        // we reach the coordinator at.
        const std::string coord_host = comm::split_tcp_endpoint(o_.coordinator).host;
        for (std::string& e : task_->peers->ps) {
          const comm::TcpEndpoint ep = comm::split_tcp_endpoint(e);
          if (ep.host == "0.0.0.0" || ep.host == "*") e = "tcp://" + coord_host + ":" + ep.port;
        }
        task_->peers_cv.notify_all();
      }
    } else if (m.type == "cancel") {
      const std::string id = h["job_id"];
      const int64_t attempt = h.value("attempt", int64_t{-1});
      if (task_ && task_->job_id == id && !task_->cancel &&
          (attempt < 0 || attempt == task_->attempt)) {
        log("cancelling " + id + " (" + h.value("reason", std::string("cancelled")) + ")");
        task_->cancel_by_user = true;
        task_->cancel = true;
      }
    } else if (m.type == "ack") {
      const std::string id = h["job_id"];
      const int64_t attempt = h.value("attempt", int64_t{-1});
      for (auto it = reports_.begin(); it != reports_.end();)
        it = it->first.first == id && (attempt < 0 || it->first.second == attempt)
                 ? reports_.erase(it)
                 : std::next(it);
    } else if (m.type == "error") {
      if (h["code"] == "unknown_worker") {
        if (registered_) log("the coordinator does not know us (restarted?); registering again");
        registered_ = false;
        if (o_.metrics != nullptr) o_.metrics->set_registered(false);
        last_register_ = {};
      } else {
        log("coordinator says: " + h["message"].get<std::string>());
      }
    } else {
      send(comm::make_error("unexpected_type", "a worker does not accept \"" + m.type + "\"",
                            m.type));
    }
  }

  void on_assign(const std::string& job_id, const nlohmann::json& spec, int64_t threads,
                 int64_t rank, int64_t world_size, int64_t attempt,
                 const std::string& ring_public_key, const std::string& ring_secret_key) {
    if (task_ && task_->job_id == job_id && task_->attempt == attempt) return;  // duplicate
    if (reports_.count({job_id, attempt})) return;                              // already ran it
    if (task_ || stopping_) {
      // Refused, not run: the coordinator queues the job again, and counts
      // this worker busy with what it runs until that task's report.
      nlohmann::json refusal = {
          {"job_id", job_id},
          {"reason", stopping_ ? "worker " + o_.name + " is shutting down"
                               : "worker " + o_.name + " is busy with " + task_->job_id},
          {"attempt", attempt},
          {"busy", true}};
      if (task_) {
        refusal["busy_job_id"] = task_->job_id;
        refusal["busy_attempt"] = task_->attempt;
      }
      send({"failed", std::move(refusal), {}});
      return;
    }
    log("running " + job_id +
        (world_size > 1 ? " as rank " + std::to_string(rank) + " of " + std::to_string(world_size)
                        : "") +
        (attempt > 0 ? " (restart " + std::to_string(attempt) + ": resuming)" : ""));
    task_ = std::make_unique<Task>();
    task_->job_id = job_id;
    task_->attempt = attempt;
    task_->rank = static_cast<int>(rank);
    task_->world_size = static_cast<int>(world_size);
    task_->ring_public_key = ring_public_key;
    task_->ring_secret_key = ring_secret_key;
    task_->metrics = o_.metrics;
    if (o_.metrics != nullptr) o_.metrics->task_started();
    Task* t = task_.get();
    t->thread = std::thread([t, spec, threads, host = o_.host, gpus = *o_.gpus, roots = o_.roots] {
      run_task(*t, spec, threads, host, gpus, roots);
    });
  }

  // Sends what the task produced; collects it when done.
  void pump_task() {
    if (!task_) return;
    std::deque<Event> events;
    bool done;
    std::string endpoint, nccl_id;
    {
      std::lock_guard lock(task_->mu);
      events.swap(task_->events);
      done = task_->done;
      if (!task_->peers) {
        endpoint = task_->endpoint;
        nccl_id = task_->nccl_id;
      }
    }
    if (!endpoint.empty() && registered_ && Clock::now() - last_rendezvous_ >= milliseconds(1000)) {
      last_rendezvous_ = Clock::now();
      nlohmann::json h = {{"job_id", task_->job_id},
                          {"rank", task_->rank},
                          {"endpoint", endpoint},
                          {"attempt", task_->attempt}};
      if (!nccl_id.empty()) h["nccl_id"] = nccl_id;
      send({"rendezvous", std::move(h), {}});
    }
    std::vector<std::string> lines;
    const std::string& id = task_->job_id;
    const int64_t attempt = task_->attempt;
    for (auto& e : events) {
      if (e.kind == Event::kLog) {
        lines.push_back(std::move(e.line));
        if (lines.size() == 1000) {
          send({"log", {{"job_id", id}, {"lines", lines}, {"attempt", attempt}}, {}});
          lines.clear();
        }
      } else {
        send({"progress",
              {{"job_id", id},
               {"kind", e.kind == Event::kStep ? "step" : "epoch"},
               {"report", e.report},
               {"attempt", attempt}},
              {}});
      }
    }
    if (!lines.empty()) send({"log", {{"job_id", id}, {"lines", lines}, {"attempt", attempt}}, {}});
    if (!done) return;
    task_->thread.join();
    Report r;
    r.state = task_->state;
    r.result = task_->result;
    r.reason = task_->reason;
    r.peer_lost = task_->peer_lost;
    if (r.state == "cancelled" && !task_->cancel_by_user) {
      r.state = "failed";
      r.reason = "worker " + o_.name + " was stopped while running the task";
    }
    log(id + " " + r.state + (r.reason.empty() ? "" : ": " + r.reason));
    if (o_.metrics != nullptr) o_.metrics->task_finished(r.state);
    reports_[{id, attempt}] = std::move(r);
    task_.reset();
    resend_reports(Clock::now());
  }

  void resend_reports(Clock::time_point now) {
    for (auto it = reports_.begin(); it != reports_.end();) {
      Report& r = it->second;
      const auto& [id, attempt] = it->first;
      if (r.sends >= kMaxReportSends) {
        log("giving up reporting " + id + " after " + std::to_string(r.sends) + " tries");
        it = reports_.erase(it);
        continue;
      }
      if (registered_ && now - r.last_sent >= milliseconds(2000)) {
        r.last_sent = now;
        ++r.sends;
        if (r.state == "failed")
          send({"failed",
                {{"job_id", id},
                 {"reason", r.reason},
                 {"attempt", attempt},
                 {"peer_lost", r.peer_lost}},
                {}});
        else
          send({"finished",
                {{"job_id", id},
                 {"result", r.result.is_object() ? r.result : nlohmann::json::object()},
                 {"cancelled", r.state == "cancelled"},
                 {"attempt", attempt}},
                {}});
      }
      ++it;
    }
  }

  void begin_stop() {
    stopping_ = true;
    stop_began_ = Clock::now();
    if (task_) {
      log("stopping: cancelling " + task_->job_id);
      task_->cancel = true;
    }
  }

  const AgentOptions& o_;
  const std::atomic<bool>& stop_;
  comm::Context ctx_;
  std::unique_ptr<comm::Socket> socket_;
  bool registered_ = false;
  bool stopping_ = false;
  milliseconds heartbeat_interval_{1000};
  Clock::time_point last_register_{}, last_heartbeat_{}, last_heard_{}, stop_began_{};
  Clock::time_point last_rendezvous_{}, last_reconnect_{};
  std::unique_ptr<Task> task_;
  bool left_task_ = false;
  std::map<std::pair<std::string, int64_t>, Report> reports_;  // by job id and attempt
};

}  // namespace

Agent::Agent(AgentOptions options) : options_(std::move(options)) {
  if (options_.name.empty()) options_.name = default_name();
  if (options_.cores <= 0) {
    const unsigned n = std::thread::hardware_concurrency();
    options_.cores = n > 0 ? n : 1;
  }
  options_.gpus =
      resolve_gpus(options_.gpus, ops::cuda_device_count(), ops::cuda_unavailable_reason());
  options_.roots = training::resolve_roots(options_.roots);  // against the folder we started in
  if (options_.memory_bytes <= 0) {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    options_.memory_bytes = pages > 0 && page > 0 ? static_cast<int64_t>(pages) * page : 0;
  }
  // A task that would hold more than we offer fails naming the sizes, instead
  // of the kernel killing the whole worker.
  ops::set_host_memory_limit(static_cast<size_t>(options_.memory_bytes));
}

int Agent::run() {
  if (options_.metrics != nullptr)
    options_.metrics->set_info(options_.name, hostname(), options_.cores, options_.memory_bytes,
                               static_cast<int64_t>(options_.gpus->size()));
  Loop loop(options_, stop_);
  const int code = loop.run();
  left_task_ = loop.left_task();
  return code;
}

}  // namespace ringmaster::worker
