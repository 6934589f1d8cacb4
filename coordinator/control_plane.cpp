// The control-plane loop (see control_plane.h). One thread owns the socket;
// each pass: receive (up to kMaxBatch messages), expire silent workers, send
// pending cancels, and schedule if anything changed. The loop's only wait is
// the receive timeout, so a pass is bounded in time.
#include "coordinator/control_plane.h"

#include <algorithm>
#include <cstdio>

#include "comm/curve.h"
#include "coordinator/metrics.h"

namespace ringmaster::coordinator {
namespace {

// The acknowledgement of a task's final report (of that attempt, when given).
comm::Message ack(const std::string& job_id, int64_t attempt) {
  nlohmann::json h = {{"job_id", job_id}};
  if (attempt >= 0) h["attempt"] = attempt;
  return {"ack", std::move(h), {}};
}

constexpr int kMaxBatch = 1000;  // messages handled per pass before housekeeping

// Worker ids are routing identities; we accept printable ones only, so they
// can appear in logs, JSON and URLs.
bool valid_worker_id(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == ':' || c == '@';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

ControlPlane::ControlPlane(comm::Context& ctx, JobManager& jobs, WorkerRegistry& workers,
                           ControlPlaneOptions options)
    : ctx_(ctx), jobs_(jobs), workers_(workers), options_(std::move(options)) {}

ControlPlane::~ControlPlane() { stop(); }

void ControlPlane::start() {
  comm::SocketOptions so;
  if (!options_.curve_secret_key.empty()) {
    // Handshakes are checked before the socket is bound, so no stranger is
    // ever connected; ids stay with their first key (no handover), and ZMTP
    // heartbeats drop a dead connection so its worker can come back.
    allowlist_ = std::make_unique<comm::CurveAllowlist>(options_.worker_allowlist);
    comm::CurveAllowlist* allowlist = allowlist_.get();
    zap_ = std::make_unique<comm::ZapAuthenticator>(
        ctx_, [allowlist](const std::string& domain, const std::string& key, const std::string&) {
          return domain == "control" && allowlist->allows(key);
        });
    so.curve_secret_key = options_.curve_secret_key;
    so.zap_domain = "control";
    so.router_handover = false;
    so.heartbeat_ms = 3000;
  }
  socket_ = std::make_unique<comm::Socket>(ctx_, comm::SocketKind::kRouter, so);
  socket_->bind(options_.endpoint);
  endpoint_ = socket_->endpoint();
  // Shards listen on the control plane's host ("tcp://HOST:PORT").
  PsHostOptions ps;
  ps.bind_host = comm::split_tcp_endpoint(endpoint_).host;
  ps.make_update = options_.ps_update;
  ps_host_ = std::make_unique<PsHost>(ps);
  started_ = std::chrono::steady_clock::now();
  thread_ = std::thread([this] { run(); });
}

void ControlPlane::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ps_host_.reset();
  socket_.reset();
  zap_.reset();
}

ControlPlane::Stats ControlPlane::stats() const {
  Stats s;
  {
    std::lock_guard lock(stats_mu_);
    s = stats_;
  }
  if (zap_) {
    for (const auto& [domain, c] : zap_->counts()) {
      s.auth_accepted += c.accepted;
      s.auth_refused += c.refused;
    }
  }
  return s;
}

void ControlPlane::run() {
  auto last_expire = std::chrono::steady_clock::now();
  auto last_sweep = last_expire;
  while (!stop_) {
    try {
      auto env = socket_->receive(options_.poll_interval);
      for (int n = 0; env && n < kMaxBatch; ++n) {
        handle(*env);
        env = socket_->receive(std::chrono::milliseconds(0));
      }
      if (env) handle(*env);
      const auto now = std::chrono::steady_clock::now();
      if (now - last_expire >= std::chrono::milliseconds(100)) {
        expire_workers(now);
        last_expire = now;
      }
      if (options_.metrics && now - last_sweep >= std::chrono::seconds(1)) {
        options_.metrics->sweep(now, [this](const std::string& id) {
          const auto s = jobs_.state_of(id);
          return s && *s == JobState::kRunning;
        });
        last_sweep = now;
      }
      if (!reconciled_ && now - started_ > workers_.timeout()) reconcile_after_restart();
      send_cancels();
      if (now - last_backoff_check_ >= std::chrono::milliseconds(200)) check_backoffs();
      if (cluster_changed_ || jobs_.version() != scheduled_version_) schedule();
      if (now - last_ps_sweep_ >= std::chrono::seconds(1)) sweep_ps_jobs();
    } catch (const std::exception& e) {
      // A store failure mid-pass: nothing was acknowledged that is not on
      // disk; the next pass tries again.
      std::fprintf(stderr, "coordinator: control plane: %s\n", e.what());
      cluster_changed_ = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

void ControlPlane::send(const std::string& peer, const comm::Message& m) {
  const bool ok = socket_->send(peer, m);
  std::lock_guard lock(stats_mu_);
  ++(ok ? stats_.sent : stats_.send_failures);
}

void ControlPlane::bad(const std::string& peer, const std::string& code, const std::string& text,
                       const std::string& in_reply_to) {
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.bad_messages;
    ++stats_.bad_by_code[code];
  }
  send(peer, comm::make_error(code, text, in_reply_to));
}

void ControlPlane::handle(const comm::Envelope& env) {
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.received;
  }
  comm::Message m;
  try {
    m = comm::decode(env.frames, env.overflow);
  } catch (const comm::ProtocolError& e) {
    return bad(env.peer, e.code(), e.what());
  }
  const std::string& peer = env.peer;
  if (zap_) {
    // An allowed key may not speak for a worker id another key registered.
    auto [it, first] = key_of_worker_.emplace(peer, env.user_id);
    if (!first && it->second != env.user_id) {
      std::fprintf(stderr,
                   "coordinator: refused a message for worker %s from key %s: the id belongs "
                   "to key %s\n",
                   peer.c_str(), env.user_id.c_str(), it->second.c_str());
      return bad(peer, "identity_taken",
                 "worker id " + peer + " belongs to another key; pick another --name", m.type);
    }
  }
  if (m.type == "register") return on_register(peer, m);
  if (!workers_.touch(peer, std::chrono::steady_clock::now()))
    return send(peer, comm::make_error("unknown_worker", "register first", m.type));
  try {
    if (m.type == "heartbeat") return on_heartbeat(peer, m);
    const int64_t attempt = m.header.value("attempt", int64_t{-1});
    if (m.type == "progress") {
      int64_t redone = 0;
      if (!jobs_.record_progress(m.header["job_id"], peer, m.header["kind"], m.header["report"],
                                 attempt, &redone))
        return;
      if (options_.metrics) {
        if (redone > 0) options_.metrics->steps_redone(redone);
        options_.metrics->on_progress(m.header["job_id"], m.header["kind"], m.header["report"]);
      }
      if (m.header["kind"] == "step") grow_if_possible(m.header["job_id"], m.header["report"]);
      return;
    }
    if (m.type == "log") {
      jobs_.append_logs(m.header["job_id"], peer, m.header["lines"].get<std::vector<std::string>>(),
                        attempt);
      return;
    }
    if (m.type == "finished") return on_finished(peer, m);
    if (m.type == "failed") return on_failed(peer, m);
    if (m.type == "rendezvous") return on_rendezvous(peer, m);
    if (m.type == "error") {
      std::fprintf(stderr, "coordinator: worker %s reports an error: %s\n", peer.c_str(),
                   m.header.value("message", "").c_str());
      return;
    }
  } catch (const StoreError& e) {
    // Not stored, so not acknowledged: the worker sends it again.
    std::fprintf(stderr, "coordinator: store error handling %s from %s: %s\n", m.type.c_str(),
                 peer.c_str(), e.what());
    return;
  }
  bad(peer, "unexpected_type", "a coordinator does not accept \"" + m.type + "\" messages", m.type);
}

void ControlPlane::on_register(const std::string& peer, const comm::Message& m) {
  if (!valid_worker_id(peer))
    return bad(peer, "bad_identity",
               "worker id must be 1-128 characters of [A-Za-z0-9._:@-]; set it with --name",
               m.type);
  const auto& h = m.header;
  WorkerInfo info;
  info.id = peer;
  info.hostname = h["hostname"];
  info.pid = h["pid"];
  info.cores = h["cores"];
  info.memory_bytes = h["memory_bytes"];
  info.gpus = h["gpus"];
  info.slots = h["slots"];
  workers_.upsert(info, std::chrono::steady_clock::now());
  cluster_changed_ = true;
  send(peer, {"registered",
              {{"worker_id", peer}, {"heartbeat_interval_ms", options_.heartbeat_interval.count()}},
              {}});

  // Reconcile what the worker says it has with what the store says it runs.
  std::map<std::string, bool> reported;
  for (const auto& t : h.value("tasks", nlohmann::json::array())) {
    const std::string id = t["job_id"];
    const std::string state = t["state"];
    const int64_t attempt = t.value("attempt", int64_t{-1});
    const auto v = jobs_.get(id);
    // Of the attempt the store has (an attempt the worker ran earlier does
    // not stand for the one it may have been given since).
    const bool this_attempt = v && (attempt < 0 || attempt == v->job.restarts);
    if (this_attempt) reported[id] = true;
    if (state == "running") {
      const bool ours = this_attempt && v->job.state == JobState::kRunning &&
                        std::find(v->job.placement.begin(), v->job.placement.end(), peer) !=
                            v->job.placement.end();
      if (ours) {
        workers_.add_task(peer, id, v->job.cores, v->job.gpus, v->job.restarts);
        if (v->job.cancel_requested)
          send(peer, {"cancel", {{"job_id", id}, {"reason", "cancelled by user"}}, {}});
      } else {
        // Told to stop; until it reports that it has, it holds its slot, so
        // nothing is assigned to a worker still busy with it.
        workers_.add_task(peer, id, v ? v->job.cores : 0, v ? v->job.gpus : 0, attempt);
        const std::string why =
            !v ? "job is unknown to the coordinator"
            : !this_attempt
                ? "attempt " + std::to_string(attempt) + " was superseded"
                : std::string("job is ") + to_string(v->job.state) + " on the coordinator";
        send(peer, {"cancel", {{"job_id", id}, {"attempt", attempt}, {"reason", why}}, {}});
      }
      continue;
    }
    try {
      const std::string reason = t.value("reason", "failed while the coordinator was away");
      if (state == "failed" && t.value("peer_lost", false) && attempt >= 0 &&
          jobs_.runs_on(id, peer))
        restart_job(id, attempt, reason);
      else if (state == "failed")
        jobs_.fail(id, peer, reason, attempt);
      else
        jobs_.finish(id, peer, t.value("result", nlohmann::json::object()), state == "cancelled",
                     attempt);
      send(peer, ack(id, attempt));
    } catch (const StoreError& e) {
      std::fprintf(stderr, "coordinator: store error: %s\n", e.what());
    }
  }
  for (const Job& j : jobs_.running()) {
    if (reported.count(j.id) ||
        std::find(j.placement.begin(), j.placement.end(), peer) == j.placement.end())
      continue;
    restart_job(j.id, j.restarts,
                "worker " + peer + " registered again without the task (it restarted)");
  }
}

void ControlPlane::on_heartbeat(const std::string& peer, const comm::Message& m) {
  // A task the worker runs that is no longer ours to run (failed by timeout,
  // cancelled while it was away) is told to stop.
  for (const auto& id_json : m.header["running"]) {
    const std::string id = id_json;
    if (!jobs_.runs_on(id, peer))
      send(peer, {"cancel", {{"job_id", id}, {"reason", "the coordinator no longer runs it"}}, {}});
  }
  send(peer, {"heartbeat_ack", nlohmann::json::object(), {}});
}

void ControlPlane::on_finished(const std::string& peer, const comm::Message& m) {
  const std::string id = m.header["job_id"];
  const int64_t attempt = m.header.value("attempt", int64_t{-1});
  // The worker is freed first: whoever reads the job as ended then finds
  // its worker idle (a scrape between the two saw SUCCEEDED and busy).
  workers_.remove_task(peer, id, attempt);
  jobs_.finish(id, peer, m.header["result"], m.header["cancelled"].get<bool>(), attempt);
  cluster_changed_ = true;
  send(peer, ack(id, attempt));
}

void ControlPlane::on_failed(const std::string& peer, const comm::Message& m) {
  const std::string id = m.header["job_id"];
  const int64_t attempt = m.header.value("attempt", int64_t{-1});
  // A rank that lost a peer says so: the job restarts, as when the peer's
  // worker is declared dead (whichever comes first; the other is ignored).
  // A worker that was still busy with another task refused the assignment:
  // the job goes back to the queue, not counted as a restart.
  workers_.remove_task(peer, id, attempt);  // first, as in on_finished
  if (m.header.value("peer_lost", false) && attempt >= 0 && jobs_.runs_on(id, peer))
    restart_job(id, attempt, m.header["reason"]);
  else if (m.header.value("busy", false) && attempt >= 0 && jobs_.runs_on(id, peer))
    requeue_job(id, attempt, m.header["reason"].get<std::string>() + "; queued again");
  else
    jobs_.fail(id, peer, m.header["reason"], attempt);
  if (m.header.value("busy", false)) hold_for_running_task(peer, m.header);
  cluster_changed_ = true;
  send(peer, ack(id, attempt));
}

// A worker that refused an assignment as busy holds its slot for the task it
// runs until it reports that task's end (or dies, or registers again):
// assigning to it meanwhile would only be refused again, at once, over and
// over (seen: 254 requeues in a row while a cancelled rank wound down).
void ControlPlane::hold_for_running_task(const std::string& peer, const nlohmann::json& refusal) {
  const auto busy_job = refusal.find("busy_job_id");
  if (busy_job == refusal.end()) return;
  const std::string job = *busy_job;
  const int64_t attempt = refusal.value("busy_attempt", int64_t{-1});
  const auto view = jobs_.get(job);
  workers_.add_task(peer, job, view ? view->job.cores : 0, view ? view->job.gpus : 0, attempt);
}

void ControlPlane::on_rendezvous(const std::string& peer, const comm::Message& m) {
  const std::string id = m.header["job_id"];
  const auto rank = m.header["rank"].get<int64_t>();
  const auto view = jobs_.get(id);
  const auto& placement = view ? view->job.placement : std::vector<std::string>{};
  const int64_t attempt = m.header.value("attempt", int64_t{-1});
  if (!view || view->job.state != JobState::kRunning ||
      (attempt >= 0 && attempt != view->job.restarts) ||
      rank >= static_cast<int64_t>(placement.size()) ||
      placement[static_cast<size_t>(rank)] != peer)
    return bad(peer, "bad_rendezvous",
               "worker " + peer + " is not rank " + std::to_string(rank) + " of running job " + id,
               m.type);
  // Forget gatherings of jobs that ended meanwhile.
  for (auto it = rendezvous_.begin(); it != rendezvous_.end();) {
    auto v = it->first == id ? view : jobs_.get(it->first);
    it = v && v->job.state == JobState::kRunning ? std::next(it) : rendezvous_.erase(it);
  }
  Gathering& g = rendezvous_[id];
  if (g.attempt != view->job.restarts) g = Gathering{view->job.restarts, {}, {}, {}};
  if (g.ps.empty()) g.ps = ps_host_->endpoints(id);
  // Shards started by this coordinator's previous life went with it (and so
  // did the job's keys): the job starts again with new ones.
  if (g.ps.empty() && view->job.started_ms < started_ms_ && uses_ps(view->job))
    return requeue_job(id, view->job.restarts,
                       "its parameter-server shards were lost with the coordinator's restart");
  std::vector<std::string>& ring = g.ring;
  ring.resize(placement.size());
  ring[static_cast<size_t>(rank)] = m.header["endpoint"];
  if (rank == 0) g.nccl_id = m.header.value("nccl_id", std::string());
  if (std::any_of(ring.begin(), ring.end(), [](const std::string& e) { return e.empty(); })) return;
  nlohmann::json h = {{"job_id", id}, {"ring", ring}};
  if (!g.nccl_id.empty()) h["nccl_id"] = g.nccl_id;
  if (!g.ps.empty()) h["ps"] = g.ps;
  const comm::Message peers{"peers", std::move(h), {}};
  for (const auto& w : placement) send(w, peers);
  rendezvous_.erase(id);
}

comm::CurveKeypair ControlPlane::job_keys(const std::string& job_id) {
  // Forget the keys of jobs that ended (a pending one may be a restart).
  for (auto it = job_keys_.begin(); it != job_keys_.end();) {
    const auto s = jobs_.state_of(it->first);
    it = !s || is_terminal(*s) ? job_keys_.erase(it) : std::next(it);
  }
  auto [it, fresh] = job_keys_.try_emplace(job_id);
  if (fresh) it->second = comm::make_curve_keypair();
  return it->second;
}

bool ControlPlane::uses_ps(const Job& job) const {
  if (!options_.parse_spec) return false;
  try {
    return options_.parse_spec(job.spec).sync.mode == training::SyncMode::kParameterServer;
  } catch (const std::exception&) {
    return false;
  }
}

void ControlPlane::start_ps_shards(const Job& job, const comm::CurveKeypair& keys) {
  if (!options_.parse_spec) return;  // a control plane without one hosts no shards
  training::JobSpec spec;
  try {
    spec = options_.parse_spec(job.spec);
  } catch (const std::exception&) {
    return;  // validated at submit; the workers will report the problem
  }
  if (spec.sync.mode != training::SyncMode::kParameterServer ||
      !ps_host_->endpoints(job.id).empty())
    return;
  PsJobOptions o;
  o.job_id = job.id;
  o.world = static_cast<int>(job.placement.size());
  o.shards = static_cast<int>(spec.sync.shards);
  // The spec's optimizer and schedule; steps per epoch come with the workers' init.
  o.update = {{"optimizer", spec.source.value("optimizer", nlohmann::json::object())}};
  if (!spec.lr_schedule.empty()) o.update["lr_schedule"] = spec.lr_schedule;
  o.curve_public_key = keys.public_key;
  o.curve_secret_key = keys.secret_key;
  try {
    ps_host_->start_job(o);
  } catch (const std::exception& e) {
    // The ranks then find no shards and fail the job, naming this.
    std::fprintf(stderr, "coordinator: parameter server for %s: %s\n", job.id.c_str(), e.what());
  }
}

void ControlPlane::sweep_ps_jobs() {
  last_ps_sweep_ = std::chrono::steady_clock::now();
  for (const std::string& id : ps_host_->jobs()) {
    const auto v = jobs_.get(id);
    if (!v || v->job.state != JobState::kRunning) ps_host_->stop_job(id);
  }
}

void ControlPlane::expire_workers(std::chrono::steady_clock::time_point now) {
  for (const auto& death : workers_.expire(now)) {
    std::fprintf(stderr, "coordinator: %s\n", death.reason.c_str());
    cluster_changed_ = true;
    for (const auto& lost : death.tasks) restart_job(lost.job, lost.attempt, death.reason);
  }
}

void ControlPlane::reconcile_after_restart() {
  // Jobs the store says are running whose workers did not come back within a
  // heartbeat timeout of our start.
  reconciled_ = true;
  for (const Job& j : jobs_.running()) {
    for (const auto& w : j.placement) {
      if (workers_.is_alive(w)) continue;
      restart_job(j.id, j.restarts,
                  "worker " + w + " did not register again within " +
                      std::to_string(workers_.timeout().count() / 1000) +
                      " s of the coordinator's restart");
      break;
    }
  }
}

void ControlPlane::restart_job(const std::string& id, int64_t attempt, const std::string& reason) {
  Job before;
  JobManager::RestartResult r;
  try {
    r = jobs_.restart(id, attempt, reason, &before);
  } catch (const StoreError& e) {
    std::fprintf(stderr, "coordinator: store error: %s\n", e.what());
    return;
  }
  if (r == JobManager::RestartResult::kIgnored) return;
  cluster_changed_ = true;
  backoff_wake_ms_ = 0;
  rendezvous_.erase(id);
  ps_host_->stop_job(id);  // a new attempt gets fresh shards
  const std::string what = r == JobManager::RestartResult::kRestarted ? "restarting" : "ended";
  std::fprintf(stderr, "coordinator: %s %s (attempt %lld): %s\n", what.c_str(), id.c_str(),
               static_cast<long long>(attempt), reason.c_str());
  for (const auto& w : before.placement)
    send(w,
         {"cancel", {{"job_id", id}, {"attempt", attempt}, {"reason", what + ": " + reason}}, {}});
}

void ControlPlane::grow_if_possible(const std::string& id, const nlohmann::json& step_report) {
  const auto it = step_report.find("checkpoint_step");
  if (it == step_report.end() || !it->is_number_integer()) return;  // none written yet
  const int64_t checkpoint = it->get<int64_t>();
  if (checkpoint < 0) return;
  const auto view = jobs_.get(id);
  if (!view || view->job.state != JobState::kRunning) return;
  const Job& j = view->job;
  const int64_t missing = j.workers - static_cast<int64_t>(j.placement.size());
  if (missing <= 0) return;
  // Jobs queued before it would take the free workers first.
  JobDemand self;
  self.priority = j.priority;
  self.seq = j.seq;
  for (const JobDemand& d : jobs_.queue())
    if (queue_before(d, self)) return;
  int64_t free = 0;
  for (const WorkerCapacity& w : workers_.snapshot().workers)
    free += w.free_slots > 0 && w.free_cores >= j.cores && w.free_gpus >= j.gpus;
  if (free < missing) return;
  // Its ranks stop and report before the whole gang is free: wait for it
  // (a few heartbeat timeouts at most, then any gang of min_workers will do).
  const int64_t wait_ms = 3 * std::max<int64_t>(workers_.timeout().count(), 1000);
  requeue_job(id, j.restarts,
              "growing back from " + std::to_string(j.placement.size()) + " to " +
                  std::to_string(j.workers) + " workers at its checkpoint of step " +
                  std::to_string(checkpoint),
              now_unix_ms() + wait_ms);
}

void ControlPlane::requeue_job(const std::string& id, int64_t attempt, const std::string& why,
                               int64_t full_gang_until_ms) {
  const auto view = jobs_.get(id);
  try {
    if (!view || !jobs_.requeue(id, attempt, why, full_gang_until_ms)) return;
  } catch (const StoreError& e) {
    std::fprintf(stderr, "coordinator: store error: %s\n", e.what());
    return;
  }
  cluster_changed_ = true;
  backoff_wake_ms_ = 0;  // its wait for the whole gang ends on time
  rendezvous_.erase(id);
  ps_host_->stop_job(id);
  std::fprintf(stderr, "coordinator: requeued %s (attempt %lld): %s\n", id.c_str(),
               static_cast<long long>(attempt), why.c_str());
  for (const auto& w : view->job.placement)
    send(w, {"cancel", {{"job_id", id}, {"attempt", attempt}, {"reason", "requeued: " + why}}, {}});
}

void ControlPlane::check_backoffs() {
  last_backoff_check_ = std::chrono::steady_clock::now();
  const int64_t now_ms = now_unix_ms();
  if (backoff_wake_ms_ != 0 && now_ms >= backoff_wake_ms_) {
    cluster_changed_ = true;
    backoff_wake_ms_ = 0;
  }
  if (backoff_wake_ms_ == 0) backoff_wake_ms_ = jobs_.next_backoff_end_ms(now_ms);
}

void ControlPlane::send_cancels() {
  for (const Job& j : jobs_.take_cancel_requests())
    for (const auto& w : j.placement)
      send(w, {"cancel", {{"job_id", j.id}, {"reason", "cancelled by user"}}, {}});
}

void ControlPlane::schedule() {
  cluster_changed_ = false;
  scheduled_version_ = jobs_.version();
  const auto began = std::chrono::steady_clock::now();
  const ClusterSnapshot cluster = workers_.snapshot();
  const Decision d = coordinator::schedule(cluster, jobs_.queue());
  if (options_.metrics)
    options_.metrics->observe_scheduling(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
  jobs_.set_unschedulable(d.unschedulable);
  std::map<std::string, int64_t> threads;
  for (const auto& w : cluster.workers) threads[w.id] = std::max<int64_t>(1, w.cores / w.slots);
  for (const Placement& p : d.placements) {
    std::optional<Job> job;
    try {
      job = jobs_.start(p);  // durable before anyone hears of it
    } catch (const StoreError& e) {
      std::fprintf(stderr, "coordinator: store error starting %s: %s\n", p.job_id.c_str(),
                   e.what());
      continue;
    }
    if (!job) continue;
    std::string unreached;  // the first worker the assignment did not reach
    const auto world = static_cast<int64_t>(p.worker_ids.size());
    // With CURVE, the job's keypair for its ring and shards: only its ranks
    // can connect to either.
    const comm::CurveKeypair ring_keys =
        zap_ && world > 1 ? job_keys(job->id) : comm::CurveKeypair{};
    if (world > 1) start_ps_shards(*job, ring_keys);
    for (int64_t rank = 0; rank < world; ++rank) {
      const std::string& w = p.worker_ids[static_cast<size_t>(rank)];
      workers_.add_task(w, job->id, job->cores, job->gpus, job->restarts);
      comm::Message assign{"assign",
                           {{"job_id", job->id},
                            {"spec", job->spec},
                            {"threads", threads[w]},
                            {"rank", rank},
                            {"world_size", world},
                            {"attempt", job->restarts}},
                           {}};
      if (!ring_keys.secret_key.empty()) {
        assign.header["ring_public_key"] = ring_keys.public_key;
        assign.header["ring_secret_key"] = ring_keys.secret_key;
      }
      const bool ok = socket_->send(w, assign);
      {
        std::lock_guard lock(stats_mu_);
        ++(ok ? stats_.sent : stats_.send_failures);
      }
      if (!ok) {
        if (unreached.empty()) unreached = w;
        for (const auto& lost : workers_.kill(w, "worker " + w + " could not be reached"))
          if (lost.job != job->id)
            restart_job(lost.job, lost.attempt, "worker " + w + " could not be reached");
      }
    }
    if (!unreached.empty()) {
      // The ranks it reached are told to stop and keep their slots until
      // they report that they have (the unreached one is dead already):
      // else the next attempt lands on a rank still winding this one down.
      for (const auto& w : p.worker_ids) {
        send(w, {"cancel",
                 {{"job_id", job->id},
                  {"attempt", job->restarts},
                  {"reason", "gang could not be assembled"}},
                 {}});
      }
      jobs_.requeue(job->id, job->restarts,
                    "worker " + unreached + " could not be reached; queued again");
      cluster_changed_ = true;
    }
  }
}

}  // namespace ringmaster::coordinator
