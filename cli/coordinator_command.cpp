// `ringmaster coordinator` (see coordinator_command.h). Exit codes: 0 stopped
// by a signal, 1 could not start (store, bind), 2 a refused configuration.
#include "cli/coordinator_command.h"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "cli/client_options.h"
#include "cli/exit_codes.h"
#include "cli/signals.h"
#include "comm/transport.h"
#include "coordinator/coordinator.h"
#include "training/path_roots.h"
#include "training/ps_update.h"

namespace ringmaster::cli {
namespace {

struct CoordinatorCliOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string zmq = "tcp://127.0.0.1:5555";
  std::string state_dir = "runs/cluster";
  std::string checkpoint_root = "runs";
  std::vector<std::string> data_roots;  // empty: the defaults
  std::string token, token_file;
  std::string curve_key, allow_workers;
  std::string durability = "full";
  double heartbeat_timeout = 5.0;
  double metrics_retention = 600.0;
  int64_t max_restarts = 3;
  double restart_backoff = 5.0;
  int64_t max_jobs = static_cast<int64_t>(coordinator::JobManager::kDefaultMaxJobs);
};

int run_coordinator(const CoordinatorCliOptions& o) {
  coordinator::CoordinatorOptions c;
  c.http_address = o.host;
  c.http_port = static_cast<uint16_t>(o.port);
  c.zmq_endpoint = o.zmq;
  c.state_dir = o.state_dir;
  c.checkpoint_root = o.checkpoint_root;
  c.durability =
      o.durability == "normal" ? coordinator::Durability::kNormal : coordinator::Durability::kFull;
  c.heartbeat_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.heartbeat_timeout * 1000));
  c.metrics_retention = std::chrono::milliseconds(static_cast<int64_t>(o.metrics_retention * 1000));
  c.ps_update = training::make_ps_update_from_json;
  c.parse_spec = training::parse_job_spec;
  training::PathRoots roots = training::default_path_roots();
  if (!o.data_roots.empty()) roots.data.assign(o.data_roots.begin(), o.data_roots.end());
  roots.checkpoints = {o.checkpoint_root};
  roots = training::resolve_roots(roots);
  c.check_read_paths = [roots](const training::JobSpec& spec) {
    return training::read_path_problems(spec, roots);
  };
  c.max_restarts = o.max_restarts;
  c.max_jobs = static_cast<size_t>(o.max_jobs);
  c.curve_key_file = o.curve_key;
  c.worker_allowlist = o.allow_workers;
  c.restart_backoff_s = o.restart_backoff;
  try {
    c.token = resolve_token(o.token, o.token_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster coordinator: %s\n", e.what());
    return kExitUsage;
  }
  install_stop_signals();
  std::unique_ptr<coordinator::Coordinator> coord;
  try {
    coord = std::make_unique<coordinator::Coordinator>(c);
    coord->start();
  } catch (const coordinator::ConfigError& e) {
    std::fprintf(stderr, "ringmaster coordinator: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster coordinator: cannot start: %s\n", e.what());
    return kExitFailed;
  }
  std::printf("coordinator: REST on http://%s:%u, control plane on %s, state in %s%s\n",
              o.host.c_str(), static_cast<unsigned>(coord->http_port()),
              coord->zmq_endpoint().c_str(), o.state_dir.c_str(),
              c.token.empty() ? "" : " (bearer token required)");
  if (!c.curve_key_file.empty())
    std::printf("coordinator: control plane encrypted (CURVE); workers allowed by %s\n",
                c.worker_allowlist.c_str());
  std::fflush(stdout);
  while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::printf("coordinator: stopping\n");
  std::fflush(stdout);
  coord->stop();
  return kExitOk;
}

}  // namespace

void add_coordinator_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<CoordinatorCliOptions>();
  CLI::App* cmd = app.add_subcommand("coordinator", "Run the coordinator (REST API, scheduler)");
  cmd->add_option("--host", o->host, "REST address (a non-loopback one needs a token)")
      ->capture_default_str();
  cmd->add_option("--port", o->port, "REST port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--zmq", o->zmq, "Control-plane endpoint workers connect to")
      ->capture_default_str();
  cmd->add_option("--state-dir", o->state_dir, "Job store and endpoint file")
      ->capture_default_str();
  cmd->add_option("--checkpoint-root", o->checkpoint_root,
                  "Jobs may only write checkpoints below this folder (and read weights there)")
      ->capture_default_str();
  cmd->add_option("--data-root", o->data_roots,
                  "A folder jobs may read data and pretrained weights from; repeat for several "
                  "(default: /usr/share/datasets and ./data). Give the workers the same");
  cmd->add_option("--token", o->token,
                  "Bearer token clients must send (default: RINGMASTER_TOKEN)");
  cmd->add_option("--token-file", o->token_file, "Read the bearer token from this file");
  cmd->add_option("--curve-key", o->curve_key,
                  "The coordinator's CURVE keypair (NAME.key from `ringmaster keygen NAME`): the "
                  "control plane is encrypted and only --allow-workers keys may connect; "
                  "required for a non-loopback --zmq");
  cmd->add_option("--allow-workers", o->allow_workers,
                  "File of worker public keys (one per line) the control plane accepts; "
                  "re-read when it changes");
  cmd->add_option("--durability", o->durability,
                  "full: fsync every state change (survives power loss); normal: survives a "
                  "killed process, not a power cut, and is much faster")
      ->check(CLI::IsMember({"full", "normal"}))
      ->capture_default_str();
  cmd->add_option("--heartbeat-timeout", o->heartbeat_timeout,
                  "Seconds of silence after which a worker is dead")
      ->check(CLI::Range(0.2, 3600.0))
      ->capture_default_str();
  cmd->add_option("--metrics-retention", o->metrics_retention,
                  "Seconds a finished job's series (loss, accuracy, ...) stay on /metrics")
      ->check(CLI::Range(0.0, 7.0 * 86400))
      ->capture_default_str();
  cmd->add_option("--max-restarts", o->max_restarts,
                  "Times a job whose worker dies is queued again (to resume from its newest "
                  "checkpoint) before it fails, unless its spec's restart_policy says")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  cmd->add_option("--max-jobs", o->max_jobs,
                  "Jobs stored at most, finished ones included until deleted; a submission "
                  "beyond gets 503 with Retry-After")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}))
      ->capture_default_str();
  cmd->add_option("--restart-backoff", o->restart_backoff,
                  "Seconds such a job waits in the queue before it may start again")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = run_coordinator(*o); });
}

}  // namespace ringmaster::cli
