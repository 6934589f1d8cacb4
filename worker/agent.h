// The worker agent: the control loop of a worker process. It registers with
// the coordinator (cores, memory, GPUs), heartbeats, runs each assigned task
// through the trainer on a task thread, streams progress and log lines, and
// honours cancel. A finished task's report is resent until the coordinator
// acknowledges it, and re-registration after a coordinator restart reports
// what is still running, so nothing is lost across a coordinator restart.
// One task at a time (slots = 1): the trainer's thread count is per process.
// A task trains on the GPUs it is given: resources.gpus of the worker's
// --gpus (gpu_placement.h). Every path its spec names must lie under the
// worker's roots (training/path_roots.h), or the task fails naming the field.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "training/path_roots.h"

namespace ringmaster::worker {

class WorkerMetrics;

struct AgentOptions {
  std::string coordinator = "tcp://127.0.0.1:5555";
  std::string name;  // worker id; empty: <hostname>-<pid>
  // The address this worker's data-parallel ring listens on: peers on other
  // hosts must reach it (this host's address on their network).
  std::string host = "127.0.0.1";
  // CURVE (comm/curve.h): this worker's keypair and the coordinator's public
  // key. Empty: plain TCP (a coordinator with CURVE never hears us).
  std::string curve_public_key, curve_secret_key;
  std::string coordinator_key;
  int64_t cores = 0;  // 0: the cores this process may use
  // The GPUs offered, by CUDA ordinal (see gpu_placement.h). Unset: every
  // device the runtime finds; the Agent's constructor resolves it and throws
  // ops::Error for an ordinal the runtime does not have.
  std::optional<std::vector<int>> gpus;
  // Offered to the coordinator, and the limit on what a task's tensors may
  // hold in this process (ops::set_host_memory_limit). 0: physical memory.
  int64_t memory_bytes = 0;
  // Where specs may read data and read or write checkpoints; relative roots
  // are taken against the folder the Agent is constructed in.
  training::PathRoots roots = training::default_path_roots();
  // Give up (exit code 3) when nothing has been heard from the coordinator
  // for this long. Retries in between are paced, never a busy loop.
  std::chrono::milliseconds coordinator_timeout{60000};
  std::chrono::milliseconds shutdown_grace{20000};  // wait this long for a cancelled task
  bool verbose = true;                              // one line on stderr per task event
  WorkerMetrics* metrics = nullptr;                 // borrowed, may be null; must outlive run()
};

class Agent {
 public:
  explicit Agent(AgentOptions options);
  // Runs until request_stop() or the coordinator is lost. Blocks. Returns the
  // process exit code: 0 stopped on request, 3 coordinator lost.
  int run();
  // After run(): a task did not stop within shutdown_grace and its thread
  // still runs; end the process without running destructors (std::_Exit).
  bool left_a_task_running() const { return left_task_; }
  // Async-signal-safe: sets a flag the loop polls.
  void request_stop() { stop_.store(true); }
  const std::string& id() const { return options_.name; }

 private:
  AgentOptions options_;
  std::atomic<bool> stop_{false};
  bool left_task_ = false;
};

}  // namespace ringmaster::worker
