// `ringmaster up` (see up_command.h): starts the coordinator, waits for the
// endpoints it writes, starts the workers, waits until they have registered
// (starting again one killed meanwhile; one that exits by itself fails the
// start), optionally submits (and follows) a job, starts again any of them
// that exits meanwhile (supervised_child.h), and on Ctrl-C or the job's end
// stops the workers first (so they report) and then the coordinator. Every
// wait is bounded. Exit codes: those of `submit --follow` when following;
// else 0 after Ctrl-C, 1 when the cluster could not start.
#include "cli/up_command.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "cli/client_options.h"
#include "cli/exit_codes.h"
#include "cli/follow.h"
#include "cli/signals.h"
#include "cli/submit_command.h"
#include "cli/supervised_child.h"
#include "comm/curve.h"
#include "ops/check.h"
#include "ops/device_memory.h"
#include "worker/gpu_placement.h"

namespace ringmaster::cli {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

struct UpOptions {
  int workers = 1;
  int port = 8080;
  int zmq_port = 5555;
  std::string state_dir = "runs/cluster";
  std::string checkpoint_root = "runs";
  std::vector<std::string> data_roots;  // empty: the defaults
  std::string submit;
  bool follow = false;
  int cores_per_worker = 0;
  std::string gpus = "all";
  std::string token, token_file;
  std::string durability = "full";
};

std::string tail_of(const fs::path& p, size_t max_bytes = 2000) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

class Cluster {
 public:
  explicit Cluster(const UpOptions& o) : o_(o), state_(fs::absolute(o.state_dir)) {}
  ~Cluster() { stop(); }

  // Returns 0, or prints why and returns the exit code.
  int start(const std::string& token) {
    // Each worker its own GPUs: two ranks of a job must not share one.
    std::vector<std::vector<int>> gpus;
    try {
      gpus = worker::split_gpus(
          worker::resolve_gpus(worker::parse_gpu_list(o_.gpus), ops::cuda_device_count(),
                               ops::cuda_unavailable_reason()),
          o_.workers);
    } catch (const ops::Error& e) {
      return fail(e.what());
    }
    std::error_code ec;
    fs::create_directories(state_, ec);
    if (ec) return fail("cannot create " + state_.string() + ": " + ec.message());
    const fs::path endpoints = state_ / "coordinator.json";
    fs::remove(endpoints, ec);  // a stale one from a killed run must not fool us
    // Fresh CURVE keys for this run: the control plane is encrypted and only
    // our own workers' key is allowed.
    const fs::path keys = state_ / "keys";
    try {
      fs::create_directories(keys);
      comm::write_curve_keypair((keys / "coordinator").string(), comm::make_curve_keypair());
      const comm::CurveKeypair worker_keys = comm::make_curve_keypair();
      comm::write_curve_keypair((keys / "worker").string(), worker_keys);
      std::ofstream(keys / "workers.allow") << worker_keys.public_key << "  # ringmaster up\n";
    } catch (const std::exception& e) {
      return fail(std::string("cannot make the cluster's keys: ") + e.what());
    }

    std::vector<std::string> args = {"coordinator",
                                     "--host",
                                     "127.0.0.1",
                                     "--port",
                                     std::to_string(o_.port),
                                     "--zmq",
                                     "tcp://127.0.0.1:" + std::to_string(o_.zmq_port),
                                     "--state-dir",
                                     state_.string(),
                                     "--checkpoint-root",
                                     o_.checkpoint_root,
                                     "--durability",
                                     o_.durability,
                                     "--curve-key",
                                     (keys / "coordinator.key").string(),
                                     "--allow-workers",
                                     (keys / "workers.allow").string()};
    if (!token.empty()) args.insert(args.end(), {"--token", token});
    for (const std::string& root : o_.data_roots) args.insert(args.end(), {"--data-root", root});
    coordinator_ = std::make_unique<SupervisedChild>("the coordinator", args,
                                                     (state_ / "coordinator.log").string());
    coordinator_->start();

    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (!fs::exists(endpoints)) {
      if (exited_by_itself(*coordinator_))
        return fail("the coordinator exited (status " +
                    std::to_string(coordinator_->process().exit_status()) + "):\n" +
                    tail_of(state_ / "coordinator.log") +
                    (o_.port != 0 ? "(--port 0 --zmq-port 0 pick free ports)" : ""));
      coordinator_->poll(stderr);  // killed: started again
      if (std::chrono::steady_clock::now() > deadline || stop_requested())
        return fail("the coordinator did not come up within 30 s; see " +
                    (state_ / "coordinator.log").string());
      std::this_thread::sleep_for(milliseconds(50));
    }
    std::ifstream in(endpoints);
    const nlohmann::json ep = nlohmann::json::parse(in, nullptr, false);
    if (!ep.is_object() || !ep.contains("http") || !ep.contains("zmq"))
      return fail("unreadable " + endpoints.string());
    http_ = ep["http"];
    zmq_ = ep["zmq"];
    // Started again, it must listen where the workers and clients already point.
    auto set_flag = [&args](const std::string& flag, const std::string& value) {
      const auto at = std::find(args.begin(), args.end(), flag);
      if (at != args.end() && at + 1 != args.end()) *(at + 1) = value;
    };
    set_flag("--port", http_.substr(http_.rfind(':') + 1));
    set_flag("--zmq", zmq_);
    coordinator_->set_args(args);

    int cores = o_.cores_per_worker;
    if (cores <= 0) {
      const unsigned hw = std::thread::hardware_concurrency();
      cores = std::max(1, static_cast<int>(hw > 0 ? hw : 1) / o_.workers);
    }
    for (int i = 1; i <= o_.workers; ++i) {
      // Several workers on one machine: each on a free metrics port (in its log).
      std::vector<std::string> worker_args = {"worker",
                                              "--coordinator",
                                              zmq_,
                                              "--name",
                                              "worker-" + std::to_string(i),
                                              "--cores",
                                              std::to_string(cores),
                                              "--gpus",
                                              worker::format_gpu_list(gpus[i - 1]),
                                              "--metrics-port",
                                              "0",
                                              "--checkpoint-root",
                                              o_.checkpoint_root,
                                              "--curve-key",
                                              (keys / "worker.key").string(),
                                              "--coordinator-key",
                                              (keys / "coordinator.pub").string()};
      for (const std::string& root : o_.data_roots)
        worker_args.insert(worker_args.end(), {"--data-root", root});
      workers_.push_back(std::make_unique<SupervisedChild>(
          "worker-" + std::to_string(i), worker_args,
          (state_ / ("worker-" + std::to_string(i) + ".log")).string()));
      workers_.back()->start();
    }
    return wait_for_workers(token);
  }

  // Workers first, so their last reports reach the coordinator; then it.
  // From the thread that last started them: a child's parent-death signal
  // follows the thread that forked it (prctl), not the process.
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& w : workers_) w->process().signal(SIGTERM);
    for (auto& w : workers_)
      if (!w->process().wait(seconds(25))) w->process().signal(SIGKILL);
    if (!coordinator_) return;
    ChildProcess& c = coordinator_->process();
    c.signal(SIGTERM);
    if (!c.wait(seconds(10))) c.signal(SIGKILL);
    c.wait(seconds(5));
  }

  // While starting: a child that exited by itself (a bad flag, a port in
  // use: starting it again would fail again) fails the start, named; one
  // killed by a signal is started again, as later on. Returns the name, or "".
  std::string casualty() {
    for (auto* child : children()) {
      if (exited_by_itself(*child))
        return child->name() + " (status " + std::to_string(child->process().exit_status()) +
               "; see " + child->log_path() + ")";
      child->poll(stderr);
    }
    return "";
  }

  // Once started: a child that exited is started again (after a wait; see
  // supervised_child.h), saying so on `say`. Call it from one thread only.
  void supervise(std::FILE* say) {
    for (auto* child : children()) child->poll(say);
  }

  const std::string& http() const { return http_; }
  const std::string& zmq() const { return zmq_; }
  const fs::path& state() const { return state_; }

 private:
  int fail(const std::string& why) {
    std::fprintf(stderr, "ringmaster up: %s\n", why.c_str());
    stop();
    return kExitFailed;
  }

  int wait_for_workers(const std::string& token) {
    HttpClient client(http_, token, seconds(5));
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    for (;;) {
      int alive = 0;
      try {
        const HttpResult r = client.request("GET", "/v1/workers");
        if (r.status == 200)
          for (const auto& w : r.json().value("workers", nlohmann::json::array()))
            alive += w.value("state", "") == "ALIVE";
      } catch (const ConnectionError&) {
      }
      if (alive >= o_.workers) return kExitOk;
      if (std::string dead = casualty(); !dead.empty()) return fail(dead + " exited at start");
      if (std::chrono::steady_clock::now() > deadline || stop_requested())
        return fail(std::to_string(alive) + " of " + std::to_string(o_.workers) +
                    " workers registered within 30 s; see the logs in " + state_.string());
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  static bool exited_by_itself(SupervisedChild& child) {
    if (child.waiting_to_restart() || child.process().running()) return false;
    const int status = child.process().exit_status();
    return status <= 128;  // above: 128 + the signal that killed it
  }

  std::vector<SupervisedChild*> children() {
    std::vector<SupervisedChild*> all;
    if (coordinator_) all.push_back(coordinator_.get());
    for (auto& w : workers_) all.push_back(w.get());
    return all;
  }

  const UpOptions& o_;
  fs::path state_;
  std::unique_ptr<SupervisedChild> coordinator_;
  std::vector<std::unique_ptr<SupervisedChild>> workers_;
  std::string http_, zmq_;
  bool stopped_ = false;
};

int run_up(const UpOptions& o) {
  std::string token;
  try {
    token = resolve_token(o.token, o.token_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster up: %s\n", e.what());
    return kExitUsage;
  }
  if (o.follow && o.submit.empty()) {
    std::fprintf(stderr, "ringmaster up: --follow needs --submit SPEC\n");
    return kExitUsage;
  }
  if (!o.submit.empty() && !fs::exists(o.submit)) {
    std::fprintf(stderr, "ringmaster up: cannot read %s\n", o.submit.c_str());
    return kExitUsage;
  }
  install_stop_signals();
  Cluster cluster(o);
  if (int rc = cluster.start(token); rc != kExitOk) return rc;
  // From here on a child that exits is started again, by this thread alone,
  // which also stops the cluster when told to (joined before leaving, also
  // by an exception): the children it started again die with it.
  struct Supervisor {
    std::atomic<bool> stopping{false};
    std::thread thread;
    ~Supervisor() { join(); }
    void join() {
      stopping = true;
      if (thread.joinable()) thread.join();
    }
  } supervisor;
  supervisor.thread = std::thread([&] {
    while (!supervisor.stopping.load()) {
      cluster.supervise(stderr);
      std::this_thread::sleep_for(milliseconds(200));
    }
    cluster.stop();
  });
  auto stop_cluster = [&] { supervisor.join(); };
  std::printf(
      "ringmaster up: coordinator at %s (control plane %s), %d worker%s; state and logs in %s\n"
      "  Ctrl-C stops everything. From another shell: ringmaster jobs | submit SPEC | workers\n",
      cluster.http().c_str(), cluster.zmq().c_str(), o.workers, o.workers == 1 ? "" : "s",
      cluster.state().string().c_str());
  std::fflush(stdout);

  int rc = kExitOk;
  if (!o.submit.empty()) {
    HttpClient client(cluster.http(), token);
    std::string id;
    try {
      rc = submit_spec_file(client, o.submit, &id);
      if (rc == kExitOk) {
        std::printf("submitted %s (%s)\n", id.c_str(), o.submit.c_str());
        std::fflush(stdout);
        if (o.follow) {
          rc = follow_job(client, id, stdout, isatty(fileno(stdout)) != 0, &stop_flag());
          std::printf("ringmaster up: stopping the cluster\n");
          std::fflush(stdout);
          stop_cluster();
          return rc;
        }
      }
    } catch (const ConnectionError& e) {
      std::fprintf(stderr, "ringmaster up: %s\n", e.what());
      rc = kExitConnection;
    }
    if (rc != kExitOk) {
      stop_cluster();
      return rc;
    }
  }
  // Serve until Ctrl-C.
  while (!stop_requested()) std::this_thread::sleep_for(milliseconds(200));
  std::printf("\nringmaster up: stopping the cluster\n");
  std::fflush(stdout);
  stop_cluster();
  return rc;
}

}  // namespace

void add_up_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<UpOptions>();
  CLI::App* cmd =
      app.add_subcommand("up", "Run a local cluster (coordinator + N workers) until Ctrl-C");
  cmd->add_option("--workers,-n", o->workers, "Worker processes")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--port", o->port, "REST port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--zmq-port", o->zmq_port, "Control-plane port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--state-dir", o->state_dir, "Job store and process logs")->capture_default_str();
  cmd->add_option("--checkpoint-root", o->checkpoint_root, "Checkpoints must be below this")
      ->capture_default_str();
  cmd->add_option("--cores-per-worker", o->cores_per_worker,
                  "Cores each worker offers (default: this machine's cores / workers)")
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--data-root", o->data_roots,
                  "A folder jobs may read data and pretrained weights from; repeat for several "
                  "(default: /usr/share/datasets and ./data)");
  cmd->add_option("--gpus", o->gpus,
                  "GPUs to split among the workers (all, none, or CUDA ordinals such as 0,1): "
                  "each gets its own share, the first ones one more")
      ->capture_default_str();
  cmd->add_option("--submit", o->submit, "Submit this job spec once the cluster is up");
  cmd->add_flag("--follow,-f", o->follow,
                "Follow the submitted job, then stop the cluster and exit with its result");
  cmd->add_option("--token", o->token, "Bearer token for the REST API (default: RINGMASTER_TOKEN)");
  cmd->add_option("--token-file", o->token_file, "Read the bearer token from this file");
  cmd->add_option("--durability", o->durability, "full or normal (see `coordinator --help`)")
      ->check(CLI::IsMember({"full", "normal"}))
      ->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = run_up(*o); });
}

}  // namespace ringmaster::cli
