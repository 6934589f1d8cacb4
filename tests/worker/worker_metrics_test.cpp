// WorkerMetrics and the comm families: everything registered at start-up,
// task outcomes, steps, the record_allreduce API, and no GPU series (but
// ringmaster_gpus 0) where NVML cannot be loaded.
#include "worker/worker_metrics.h"

#include <gtest/gtest.h>

#include <prometheus/registry.h>

#include "comm/metrics.h"
#include "worker/gpu_metrics.h"

namespace ringmaster::worker {
namespace {

bool has(const std::string& text, const std::string& s) {
  return text.find(s) != std::string::npos;
}

TEST(WorkerMetrics, TasksStepsAndIdentity) {
  WorkerMetrics m("/nonexistent/libnvidia-ml.so.1");
  std::string t = comm::metrics_text(m.collectables());
  for (const char* s :
       {"ringmaster_worker_tasks_total{outcome=\"succeeded\"} 0",
        "ringmaster_worker_tasks_total{outcome=\"failed\"} 0", "ringmaster_worker_registered 0",
        "ringmaster_worker_tasks_running 0", "ringmaster_worker_step_seconds_count 0",
        "process_resident_memory_bytes", "process_start_time_seconds", "ringmaster_gpus 0"})
    EXPECT_TRUE(has(t, s)) << s << "\n" << t;
  m.set_info("w-1", "host", 4, 1 << 30, 0);
  m.set_info("w-2", "host", 8, 1 << 30, 1);  // replaces, never two
  m.set_registered(true);
  m.task_started();
  m.observe_step(0.02, 32);
  m.observe_step(0.2, 32);
  t = comm::metrics_text(m.collectables());
  EXPECT_TRUE(has(t, "ringmaster_worker_tasks_running 1")) << t;
  m.task_finished("cancelled");
  t = comm::metrics_text(m.collectables());
  EXPECT_TRUE(has(t, "ringmaster_worker_info{hostname=\"host\",worker_id=\"w-2\"} 1")) << t;
  EXPECT_FALSE(has(t, "worker_id=\"w-1\""));
  EXPECT_TRUE(has(t, "ringmaster_worker_cores 8"));
  EXPECT_TRUE(has(t, "ringmaster_worker_registered 1"));
  EXPECT_TRUE(has(t, "ringmaster_worker_tasks_running 0"));
  EXPECT_TRUE(has(t, "ringmaster_worker_tasks_total{outcome=\"cancelled\"} 1"));
  EXPECT_TRUE(has(t, "ringmaster_worker_samples_total 64"));
  EXPECT_TRUE(has(t, "ringmaster_worker_step_seconds_bucket{le=\"0.025\"} 1"));
  EXPECT_TRUE(has(t, "ringmaster_worker_step_seconds_count 2"));
}

TEST(WorkerMetrics, RecordAllreduceFillsItsSeriesOnly) {
  const std::string before = comm::metrics_text({comm::comm_registry()});
  for (const char* mode : {"allreduce", "ps"})
    for (const char* c : {"none", "fp16"})
      EXPECT_TRUE(has(before, std::string("ringmaster_comm_wire_bytes_total{compression=\"") + c +
                                  "\",mode=\"" + mode + "\"}"))
          << mode << " " << c;
  comm::record_allreduce(0.003, 1000, 2000, comm::Compression::kFp16);
  comm::record_parameter_server(0.5, 4000, 4000, comm::Compression::kNone);
  const std::string t = comm::metrics_text({comm::comm_registry()});
  EXPECT_TRUE(
      has(t, "ringmaster_comm_wire_bytes_total{compression=\"fp16\",mode=\"allreduce\"} 1000"))
      << t;
  EXPECT_TRUE(
      has(t, "ringmaster_comm_payload_bytes_total{compression=\"fp16\",mode=\"allreduce\"} 2000"));
  EXPECT_TRUE(has(t,
                  "ringmaster_comm_duration_seconds_bucket{compression=\"fp16\",mode=\"allreduce\","
                  "le=\"0.0025\"} 0"));
  EXPECT_TRUE(has(t,
                  "ringmaster_comm_duration_seconds_bucket{compression=\"fp16\",mode=\"allreduce\","
                  "le=\"0.005\"} 1"));
  EXPECT_TRUE(has(t, "ringmaster_comm_wire_bytes_total{compression=\"none\",mode=\"ps\"} 4000"));
  EXPECT_TRUE(
      has(t, "ringmaster_comm_wire_bytes_total{compression=\"none\",mode=\"allreduce\"} 0"));
}

TEST(GpuMetrics, WithoutNvmlThereAreNoGpuSeries) {
  GpuMetrics g("/nonexistent/libnvidia-ml.so.1");
  EXPECT_FALSE(g.available());
  EXPECT_EQ(g.device_count(), 0u);
  EXPECT_NE(g.status().find("NVML not loaded"), std::string::npos) << g.status();
  const std::string t = comm::metrics_text({g.collectable()});
  EXPECT_TRUE(has(t, "ringmaster_gpus 0")) << t;
  EXPECT_FALSE(has(t, "ringmaster_gpu_utilization_ratio"));
  EXPECT_FALSE(has(t, "ringmaster_gpu_memory_used_bytes"));
}

TEST(GpuMetrics, TheRealNvmlWhenThisMachineHasOne) {
  GpuMetrics g;  // libnvidia-ml.so.1 from the driver, if any
  if (!g.available()) GTEST_SKIP() << g.status();
  const std::string t = comm::metrics_text({g.collectable()});
  EXPECT_TRUE(has(t, "ringmaster_gpus " + std::to_string(g.device_count()))) << t;
  if (g.device_count() > 0) {
    EXPECT_TRUE(has(t, "ringmaster_gpu_utilization_ratio{gpu=\"0\"")) << t;
    EXPECT_TRUE(has(t, "ringmaster_gpu_memory_total_bytes{gpu=\"0\"")) << t;
  }
}

}  // namespace
}  // namespace ringmaster::worker
