// `ringmaster worker` (see worker_command.h). Exit codes: 0 stopped by a
// signal, 3 the coordinator was unreachable for --coordinator-timeout, 2 a
// bad endpoint or a metrics port that cannot be bound. Metrics are served by
// a prometheus-cpp Exposer (civetweb) on --metrics-host:--metrics-port.
#include "cli/worker_command.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/exposer.h>

#include "cli/exit_codes.h"
#include "cli/signals.h"
#include "comm/curve.h"
#include "comm/transport.h"
#include "ops/check.h"
#include "worker/agent.h"
#include "worker/gpu_placement.h"
#include "worker/worker_metrics.h"

namespace ringmaster::cli {
namespace {

struct WorkerCliOptions {
  std::string coordinator = "tcp://127.0.0.1:5555";
  std::string name;
  int64_t cores = 0;
  double memory_gib = 0.0;  // 0: physical memory
  std::string gpus = "all";
  double coordinator_timeout = 60.0;
  std::string host = "127.0.0.1";
  std::string metrics_host = "127.0.0.1";
  int metrics_port = kDefaultWorkerMetricsPort;
  std::string curve_key, coordinator_key;
  std::vector<std::string> data_roots;        // empty: the defaults
  std::vector<std::string> checkpoint_roots;  // empty: the defaults
};

int run_worker(const WorkerCliOptions& o) {
  worker::AgentOptions a;
  a.coordinator = o.coordinator;
  a.name = o.name;
  a.host = o.host;
  a.cores = o.cores;
  a.memory_bytes = static_cast<int64_t>(o.memory_gib * (1 << 30));
  if (o.curve_key.empty() != o.coordinator_key.empty()) {
    std::fprintf(stderr, "ringmaster worker: --curve-key and --coordinator-key go together\n");
    return kExitUsage;
  }
  if (!o.curve_key.empty()) {
    try {
      const comm::CurveKeypair keys = comm::read_curve_keypair(o.curve_key);
      a.curve_public_key = keys.public_key;
      a.curve_secret_key = keys.secret_key;
      a.coordinator_key = comm::read_curve_public_key(o.coordinator_key);
    } catch (const comm::TransportError& e) {
      std::fprintf(stderr, "ringmaster worker: %s\n", e.what());
      return kExitUsage;
    }
  }
  if (!o.data_roots.empty()) a.roots.data.assign(o.data_roots.begin(), o.data_roots.end());
  if (!o.checkpoint_roots.empty())
    a.roots.checkpoints.assign(o.checkpoint_roots.begin(), o.checkpoint_roots.end());
  try {
    a.gpus = worker::parse_gpu_list(o.gpus);
  } catch (const ops::Error& e) {
    std::fprintf(stderr, "ringmaster worker: %s\n", e.what());
    return kExitUsage;
  }
  a.coordinator_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(o.coordinator_timeout * 1000));
  worker::WorkerMetrics metrics;
  a.metrics = &metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  const std::string bind =
      (o.metrics_host.find(':') != std::string::npos ? "[" + o.metrics_host + "]"
                                                     : o.metrics_host) +
      ":" + std::to_string(o.metrics_port);
  try {
    exposer = std::make_unique<prometheus::Exposer>(bind, /*num_threads=*/1);
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "ringmaster worker: cannot serve metrics on %s (%s); pick another "
                 "--metrics-port, or 0 for any free port\n",
                 bind.c_str(), e.what());
    return kExitUsage;
  }
  for (const auto& c : metrics.collectables()) exposer->RegisterCollectable(c);
  install_stop_signals();
  std::unique_ptr<worker::Agent> made;
  try {
    made = std::make_unique<worker::Agent>(a);
  } catch (const ops::Error& e) {  // --gpus names a GPU this host lacks
    std::fprintf(stderr, "ringmaster worker: %s\n", e.what());
    return kExitUsage;
  }
  worker::Agent& agent = *made;
  const std::vector<int> ports = exposer->GetListeningPorts();
  std::printf("worker %s: connecting to %s\n", agent.id().c_str(), o.coordinator.c_str());
  std::printf("worker %s: metrics on http://%s:%d/metrics (%s)\n", agent.id().c_str(),
              o.metrics_host.c_str(), ports.empty() ? o.metrics_port : ports.front(),
              metrics.gpu_status().c_str());
  std::fflush(stdout);
  // The loop polls its own flag; this thread turns a signal into a stop.
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      if (stop_requested()) {
        agent.request_stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  int rc = kExitFailed;
  try {
    rc = agent.run();
  } catch (const comm::TransportError& e) {
    std::fprintf(stderr, "ringmaster worker: %s\n", e.what());
    rc = kExitUsage;
  }
  done = true;
  watcher.join();
  if (agent.left_a_task_running()) {
    // Its thread still uses the process's state: end here, destroying nothing.
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(rc);
  }
  return rc;
}

}  // namespace

void add_worker_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<WorkerCliOptions>();
  CLI::App* cmd = app.add_subcommand("worker", "Run a worker that takes tasks from a coordinator");
  cmd->add_option("--coordinator", o->coordinator, "The coordinator's control-plane endpoint")
      ->capture_default_str();
  cmd->add_option("--name", o->name, "Worker id (default: HOSTNAME-PID)");
  cmd->add_option("--host", o->host,
                  "Address the data-parallel ring listens on; peers must reach it "
                  "(default 127.0.0.1)");
  cmd->add_option("--cores", o->cores, "Cores to offer (default: all)")->check(CLI::Range(0, 4096));
  cmd->add_option("--memory", o->memory_gib,
                  "GiB of memory to offer; a task whose tensors would hold more fails naming the "
                  "sizes (default: physical memory)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--gpus", o->gpus,
                  "GPUs to offer: all, none, or CUDA ordinals such as 0,1 (after "
                  "CUDA_VISIBLE_DEVICES); a task gets resources.gpus of them")
      ->capture_default_str();
  cmd->add_option("--curve-key", o->curve_key,
                  "This worker's CURVE keypair (NAME.key from `ringmaster keygen NAME`), for a "
                  "coordinator that only lets allowed keys in");
  cmd->add_option("--coordinator-key", o->coordinator_key,
                  "The coordinator's CURVE public key, or a .pub or .key file holding it");
  cmd->add_option("--data-root", o->data_roots,
                  "A folder specs may read data from (data.path, pretrained weights); "
                  "repeat for several (default: /usr/share/datasets and ./data)");
  cmd->add_option("--checkpoint-root", o->checkpoint_roots,
                  "A folder specs may read and write checkpoints in; repeat for several "
                  "(default: ./runs)");
  cmd->add_option("--coordinator-timeout", o->coordinator_timeout,
                  "Exit (code 3) after this many seconds without word from the coordinator")
      ->check(CLI::Range(1.0, 86400.0))
      ->capture_default_str();
  cmd->add_option("--metrics-host", o->metrics_host,
                  "Address of the Prometheus endpoint (/metrics; read-only, no token)")
      ->capture_default_str();
  cmd->add_option("--metrics-port", o->metrics_port, "Its port (0: any free port, printed)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->callback([o, &exit_code] { exit_code = run_worker(*o); });
}

}  // namespace ringmaster::cli
