// GPU metrics from NVML, loaded with dlopen("libnvidia-ml.so.1") at run time
// when it is there: no link-time dependency, and a machine without the NVIDIA
// driver simply has no GPU series (ringmaster_gpus reads 0). Utilisation and
// memory of every device NVML reports, read when scraped. Not CUDA: this is
// the driver's view, so it works whether or not this process uses the GPU.
#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Collectable;
}

namespace ringmaster::worker {

// The collector; thread-safe (NVML calls are). `library` is what dlopen
// loads (tests pass a path that does not exist). status() says in a line
// what was found ("NVML: 2 GPUs", "NVML not loaded: ...").
class GpuMetrics {
 public:
  explicit GpuMetrics(const std::string& library = "libnvidia-ml.so.1");
  ~GpuMetrics();
  GpuMetrics(const GpuMetrics&) = delete;
  GpuMetrics& operator=(const GpuMetrics&) = delete;
  bool available() const;
  unsigned device_count() const;
  const std::string& status() const;
  std::shared_ptr<prometheus::Collectable> collectable() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ringmaster::worker
