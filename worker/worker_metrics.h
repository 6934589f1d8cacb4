// A worker process's own metrics: who it is, whether it is registered, its
// tasks, and the steps it trains (time and samples), plus the shared comm
// families, process metrics and GPU metrics (NVML, when present). Per-job
// training curves (loss, accuracy) are the coordinator's, built from the
// progress reports; a worker runs one task at a time, so its step series
// carry no job label. Serving them over HTTP is the caller's (the CLI runs a
// prometheus-cpp Exposer).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "worker/gpu_metrics.h"

namespace prometheus {
class Collectable;
class Counter;
template <typename T>
class Family;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace ringmaster::worker {

// Every family is registered in the constructor (task outcomes at 0).
// Thread-safe: the agent loop and the task thread both call it.
class WorkerMetrics {
 public:
  // `nvml_library`: empty means no GPU metrics at all (tests).
  explicit WorkerMetrics(const std::string& nvml_library = "libnvidia-ml.so.1");
  ~WorkerMetrics();
  // The worker's identity and what it offers (ringmaster_worker_info and friends).
  void set_info(const std::string& worker_id, const std::string& hostname, int64_t cores,
                int64_t memory_bytes, int64_t gpus);
  void set_registered(bool registered);
  void task_started();
  void task_finished(const std::string& outcome);  // "succeeded" | "failed" | "cancelled"
  void observe_step(double seconds, int64_t samples);
  // What /metrics serves: this registry, the comm registry, process and GPU
  // metrics. Each lives as long as this object (an Exposer holds weak pointers).
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables() const;
  const std::string& gpu_status() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> process_;  // owned: an Exposer keeps weak pointers
  std::unique_ptr<GpuMetrics> gpu_;
  std::string no_gpu_status_;
  prometheus::Gauge* registered_;
  prometheus::Gauge* running_;
  prometheus::Gauge* cores_;
  prometheus::Gauge* memory_;
  prometheus::Gauge* gpus_offered_;
  prometheus::Counter* succeeded_;
  prometheus::Counter* failed_;
  prometheus::Counter* cancelled_;
  prometheus::Histogram* step_seconds_;
  prometheus::Counter* samples_;
  std::mutex info_mu_;  // set_info replaces the info series
  prometheus::Family<prometheus::Gauge>* info_family_;
  prometheus::Gauge* info_ = nullptr;
};

}  // namespace ringmaster::worker
