// A worker's metrics (see worker_metrics.h).
#include "worker/worker_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "comm/metrics.h"

namespace ringmaster::worker {

WorkerMetrics::WorkerMetrics(const std::string& nvml_library)
    : registry_(std::make_shared<prometheus::Registry>()), process_(comm::process_collector()) {
  using namespace prometheus;
  if (!nvml_library.empty())
    gpu_ = std::make_unique<GpuMetrics>(nvml_library);
  else
    no_gpu_status_ = "GPU metrics off";
  info_family_ = &BuildGauge()
                      .Name("ringmaster_worker_info")
                      .Help("Always 1; its labels name the worker.")
                      .Register(*registry_);
  registered_ = &BuildGauge()
                     .Name("ringmaster_worker_registered")
                     .Help("1 while the coordinator has acknowledged this worker's registration.")
                     .Register(*registry_)
                     .Add({});
  running_ = &BuildGauge()
                  .Name("ringmaster_worker_tasks_running")
                  .Help("Tasks this worker is training now.")
                  .Register(*registry_)
                  .Add({});
  cores_ = &BuildGauge()
                .Name("ringmaster_worker_cores")
                .Help("Cores this worker offers.")
                .Register(*registry_)
                .Add({});
  memory_ = &BuildGauge()
                 .Name("ringmaster_worker_memory_bytes")
                 .Help("Memory this worker offers.")
                 .Register(*registry_)
                 .Add({});
  gpus_offered_ = &BuildGauge()
                       .Name("ringmaster_worker_gpus")
                       .Help("GPUs this worker offers.")
                       .Register(*registry_)
                       .Add({});
  auto& tasks = BuildCounter()
                    .Name("ringmaster_worker_tasks_total")
                    .Help("Tasks this worker finished, by outcome.")
                    .Register(*registry_);
  succeeded_ = &tasks.Add({{"outcome", "succeeded"}});
  failed_ = &tasks.Add({{"outcome", "failed"}});
  cancelled_ = &tasks.Add({{"outcome", "cancelled"}});
  step_seconds_ = &BuildHistogram()
                       .Name("ringmaster_worker_step_seconds")
                       .Help("Wall time of one training step (forward, backward, update).")
                       .Register(*registry_)
                       .Add({}, comm::seconds_buckets());
  samples_ = &BuildCounter()
                  .Name("ringmaster_worker_samples_total")
                  .Help("Training samples this worker has stepped through.")
                  .Register(*registry_)
                  .Add({});
}

WorkerMetrics::~WorkerMetrics() = default;

void WorkerMetrics::set_info(const std::string& worker_id, const std::string& hostname,
                             int64_t cores, int64_t memory_bytes, int64_t gpus) {
  std::lock_guard lock(info_mu_);
  if (info_ != nullptr) info_family_->Remove(info_);
  info_ = &info_family_->Add({{"worker_id", worker_id}, {"hostname", hostname}});
  info_->Set(1);
  cores_->Set(static_cast<double>(cores));
  memory_->Set(static_cast<double>(memory_bytes));
  gpus_offered_->Set(static_cast<double>(gpus));
}

void WorkerMetrics::set_registered(bool registered) { registered_->Set(registered ? 1 : 0); }
void WorkerMetrics::task_started() { running_->Increment(); }

void WorkerMetrics::task_finished(const std::string& outcome) {
  running_->Decrement();
  (outcome == "succeeded"   ? succeeded_
   : outcome == "cancelled" ? cancelled_
                            : failed_)
      ->Increment();
}

void WorkerMetrics::observe_step(double seconds, int64_t samples) {
  step_seconds_->Observe(seconds);
  samples_->Increment(static_cast<double>(samples));
}

std::vector<std::shared_ptr<prometheus::Collectable>> WorkerMetrics::collectables() const {
  std::vector<std::shared_ptr<prometheus::Collectable>> out = {registry_, comm::comm_registry(),
                                                               process_};
  if (gpu_) out.push_back(gpu_->collectable());
  return out;
}

const std::string& WorkerMetrics::gpu_status() const {
  return gpu_ ? gpu_->status() : no_gpu_status_;
}

}  // namespace ringmaster::worker
