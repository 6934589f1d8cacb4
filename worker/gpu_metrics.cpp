// NVML through dlopen (see gpu_metrics.h). The few NVML declarations we use
// are written out here (the ABI of the _v2 entry points is stable), so no
// NVIDIA header is needed to build.
#include "worker/gpu_metrics.h"

#include <dlfcn.h>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace ringmaster::worker {
namespace {

using nvmlReturn = int;  // 0: NVML_SUCCESS
using nvmlDevice = void*;
struct NvmlUtilization {
  unsigned int gpu, memory;  // percent of the last sample period
};
struct NvmlMemory {
  unsigned long long total, free, used;  // bytes
};

}  // namespace

struct GpuMetrics::Impl : prometheus::Collectable {
  void* lib = nullptr;
  nvmlReturn (*init)() = nullptr;
  nvmlReturn (*shutdown)() = nullptr;
  nvmlReturn (*count)(unsigned*) = nullptr;
  nvmlReturn (*handle)(unsigned, nvmlDevice*) = nullptr;
  nvmlReturn (*util)(nvmlDevice, NvmlUtilization*) = nullptr;
  nvmlReturn (*memory)(nvmlDevice, NvmlMemory*) = nullptr;
  nvmlReturn (*name)(nvmlDevice, char*, unsigned) = nullptr;
  nvmlReturn (*uuid)(nvmlDevice, char*, unsigned) = nullptr;
  bool ok = false;
  unsigned devices = 0;
  std::string status;

  template <typename F>
  bool sym(F& f, const char* n) {
    f = reinterpret_cast<F>(dlsym(lib, n));
    return f != nullptr;
  }

  explicit Impl(const std::string& library) {
    lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* e = dlerror();
      status = "NVML not loaded (" + std::string(e ? e : library) + "): no GPU metrics";
      return;
    }
    if (!sym(init, "nvmlInit_v2") || !sym(shutdown, "nvmlShutdown") ||
        !sym(count, "nvmlDeviceGetCount_v2") || !sym(handle, "nvmlDeviceGetHandleByIndex_v2") ||
        !sym(util, "nvmlDeviceGetUtilizationRates") || !sym(memory, "nvmlDeviceGetMemoryInfo") ||
        !sym(name, "nvmlDeviceGetName") || !sym(uuid, "nvmlDeviceGetUUID")) {
      status = "NVML in " + library + " lacks an entry point: no GPU metrics";
      return;
    }
    if (const nvmlReturn r = init(); r != 0) {
      status = "nvmlInit failed (code " + std::to_string(r) + "): no GPU metrics";
      return;
    }
    ok = true;
    if (count(&devices) != 0) devices = 0;
    status = "NVML: " + std::to_string(devices) + " GPU" + (devices == 1 ? "" : "s");
  }
  ~Impl() override {
    if (ok) shutdown();
    if (lib != nullptr) dlclose(lib);
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    auto family = [](const char* n, const char* help) {
      prometheus::MetricFamily f;
      f.name = n;
      f.help = help;
      f.type = MetricType::Gauge;
      return f;
    };
    prometheus::MetricFamily gpus =
        family("ringmaster_gpus", "GPUs NVML reports (0 without NVML).");
    prometheus::MetricFamily utilization = family(
        "ringmaster_gpu_utilization_ratio",
        "Fraction of the last sample period (1/6 s to 1 s) in which a kernel ran on the GPU.");
    prometheus::MetricFamily used =
        family("ringmaster_gpu_memory_used_bytes", "GPU memory in use.");
    prometheus::MetricFamily total = family("ringmaster_gpu_memory_total_bytes", "GPU memory.");
    prometheus::ClientMetric n;
    n.gauge.value = ok ? devices : 0;
    gpus.metric.push_back(n);
    for (unsigned i = 0; ok && i < devices; ++i) {
      nvmlDevice d = nullptr;
      if (handle(i, &d) != 0) continue;
      char nm[96] = {0}, id[96] = {0};
      name(d, nm, sizeof nm);
      uuid(d, id, sizeof id);
      std::vector<prometheus::ClientMetric::Label> labels = {
          {"gpu", std::to_string(i)}, {"uuid", id}, {"name", nm}};
      NvmlUtilization u{};
      if (util(d, &u) == 0) {
        prometheus::ClientMetric m;
        m.label = labels;
        m.gauge.value = u.gpu / 100.0;
        utilization.metric.push_back(m);
      }
      NvmlMemory mem{};
      if (memory(d, &mem) == 0) {
        prometheus::ClientMetric m;
        m.label = labels;
        m.gauge.value = static_cast<double>(mem.used);
        used.metric.push_back(m);
        m.gauge.value = static_cast<double>(mem.total);
        total.metric.push_back(m);
      }
    }
    std::vector<prometheus::MetricFamily> out = {gpus};
    for (auto* f : {&utilization, &used, &total})
      if (!f->metric.empty()) out.push_back(std::move(*f));
    return out;
  }
};

GpuMetrics::GpuMetrics(const std::string& library) : impl_(std::make_shared<Impl>(library)) {}
GpuMetrics::~GpuMetrics() = default;
bool GpuMetrics::available() const { return impl_->ok; }
unsigned GpuMetrics::device_count() const { return impl_->ok ? impl_->devices : 0; }
const std::string& GpuMetrics::status() const { return impl_->status; }
std::shared_ptr<prometheus::Collectable> GpuMetrics::collectable() const { return impl_; }

}  // namespace ringmaster::worker
