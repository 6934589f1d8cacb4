// Comm metrics, process metrics and the text format (see metrics.h). The
// comm families are built once (a function-local static) and their series
// looked up by index, so record_comm takes no lock of ours.
#include "comm/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace ringmaster::comm {
namespace {

constexpr std::array<CommMode, 2> kModes = {CommMode::kAllreduce, CommMode::kParameterServer};
constexpr std::array<Compression, 2> kCompressions = {Compression::kNone, Compression::kFp16};

struct CommFamilies {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  // [mode][compression]
  prometheus::Histogram* seconds[2][2] = {};
  prometheus::Counter* wire[2][2] = {};
  prometheus::Counter* payload[2][2] = {};

  CommFamilies() {
    auto& sec = prometheus::BuildHistogram()
                    .Name("ringmaster_comm_duration_seconds")
                    .Help(
                        "Wall time of one collective operation (an all-reduce of one bucket, "
                        "or one parameter-server push or pull).")
                    .Register(*registry);
    auto& wire_f = prometheus::BuildCounter()
                       .Name("ringmaster_comm_wire_bytes_total")
                       .Help("Bytes sent and received on the wire by collective operations.")
                       .Register(*registry);
    auto& payload_f = prometheus::BuildCounter()
                          .Name("ringmaster_comm_payload_bytes_total")
                          .Help(
                              "Bytes the collective operations carried before compression "
                              "(wire / payload is the compression ratio).")
                          .Register(*registry);
    for (size_t m = 0; m < kModes.size(); ++m)
      for (size_t c = 0; c < kCompressions.size(); ++c) {
        const prometheus::Labels l = {{"mode", to_string(kModes[m])},
                                      {"compression", to_string(kCompressions[c])}};
        seconds[m][c] = &sec.Add(l, seconds_buckets());
        wire[m][c] = &wire_f.Add(l);
        payload[m][c] = &payload_f.Add(l);
      }
  }
};

CommFamilies& families() {
  static CommFamilies* f = new CommFamilies();  // never destroyed: usable from any thread at exit
  return *f;
}

// One gauge or counter sample, unlabelled.
prometheus::MetricFamily one(const std::string& name, const std::string& help,
                             prometheus::MetricType type, double value) {
  prometheus::MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
  return f;
}

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    using prometheus::MetricType;
    std::vector<prometheus::MetricFamily> out;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    // /proc/self/stat: fields after the ")" that closes the command name.
    std::ifstream in("/proc/self/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(stat.substr(close + 2));
      std::vector<std::string> f;
      for (std::string s; fields >> s;) f.push_back(s);
      // f[0] is field 3 (state): utime 14, stime 15, starttime 22, vsize 23, rss 24.
      if (f.size() > 21) {
        const double cpu = (std::stod(f[11]) + std::stod(f[12])) / tick;
        out.push_back(one("process_cpu_seconds_total", "User and system CPU time, in seconds.",
                          MetricType::Counter, cpu));
        out.push_back(one("process_virtual_memory_bytes", "Virtual memory size, in bytes.",
                          MetricType::Gauge, std::stod(f[20])));
        out.push_back(one("process_resident_memory_bytes", "Resident memory size, in bytes.",
                          MetricType::Gauge, std::stod(f[21]) * page));
        out.push_back(one("process_start_time_seconds",
                          "Start time of the process since the Unix epoch, in seconds.",
                          MetricType::Gauge, boot_time() + std::stod(f[19]) / tick));
      }
    }
    if (DIR* d = opendir("/proc/self/fd")) {
      double n = 0;
      while (readdir(d) != nullptr) ++n;
      closedir(d);
      out.push_back(one("process_open_fds", "Open file descriptors.", MetricType::Gauge,
                        std::max(0.0, n - 3)));  // ".", ".." and the one opendir holds
    }
    return out;
  }

 private:
  static double boot_time() {
    std::ifstream in("/proc/stat");
    for (std::string key; in >> key;) {
      if (key == "btime") {
        double t = 0;
        in >> t;
        return t;
      }
      std::string rest;
      std::getline(in, rest);
    }
    return 0;
  }
};

}  // namespace

const char* to_string(CommMode m) { return m == CommMode::kAllreduce ? "allreduce" : "ps"; }

std::vector<double> seconds_buckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30,    60};
}

void record_comm(CommMode mode, Compression compression, double seconds, uint64_t wire_bytes,
                 uint64_t payload_bytes) {
  CommFamilies& f = families();
  const size_t m = mode == CommMode::kAllreduce ? 0 : 1;
  const size_t c = compression == Compression::kNone ? 0 : 1;
  f.seconds[m][c]->Observe(seconds);
  f.wire[m][c]->Increment(static_cast<double>(wire_bytes));
  f.payload[m][c]->Increment(static_cast<double>(payload_bytes));
}

std::shared_ptr<prometheus::Registry> comm_registry() { return families().registry; }

std::shared_ptr<prometheus::Collectable> process_collector() {
  return std::make_shared<ProcessCollector>();
}

std::string metrics_text(const std::vector<std::shared_ptr<prometheus::Collectable>>& sources) {
  std::vector<prometheus::MetricFamily> all;
  for (const auto& s : sources) {
    if (!s) continue;
    auto f = s->Collect();
    all.insert(all.end(), std::make_move_iterator(f.begin()), std::make_move_iterator(f.end()));
  }
  return prometheus::TextSerializer().Serialize(all);
}

}  // namespace ringmaster::comm
