// Metrics both sides share: the communication families (all-reduce and
// parameter-server time and bytes, by mode and compression) in one
// process-wide prometheus-cpp registry, process metrics read from /proc, and
// the Prometheus text format of a set of collectables. No HTTP here: the
// coordinator serves the text on its REST port, a worker on its own port.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "comm/compression.h"  // label compression: "none" | "fp16"

namespace prometheus {
class Collectable;
class Registry;
}  // namespace prometheus

namespace ringmaster::comm {

enum class CommMode { kAllreduce, kParameterServer };  // label mode: "allreduce" | "ps"
const char* to_string(CommMode m);

// Records one collective operation (one bucket all-reduced, one push or pull
// from the parameter server): its wall time, the bytes this process sent and
// received on the wire, and the bytes it stands for before compression (so
// wire / payload is the compression ratio; both equal with kNone).
// Thread-safe, lock-free, never blocks: call it from the training thread.
void record_comm(CommMode mode, Compression compression, double seconds, uint64_t wire_bytes,
                 uint64_t payload_bytes);
inline void record_allreduce(double seconds, uint64_t wire_bytes, uint64_t payload_bytes,
                             Compression compression) {
  record_comm(CommMode::kAllreduce, compression, seconds, wire_bytes, payload_bytes);
}
inline void record_parameter_server(double seconds, uint64_t wire_bytes, uint64_t payload_bytes,
                                    Compression compression) {
  record_comm(CommMode::kParameterServer, compression, seconds, wire_bytes, payload_bytes);
}

// The process-wide registry of the comm families. Created on first use with
// every (mode, compression) series present at 0, so dashboards and alerts see
// them before the first operation. Never null; lives until exit.
std::shared_ptr<prometheus::Registry> comm_registry();

// process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_start_time_seconds
// (the names every Prometheus client uses), read from /proc when scraped.
std::shared_ptr<prometheus::Collectable> process_collector();

// The Prometheus text format (0.0.4) of everything the sources hold now.
std::string metrics_text(const std::vector<std::shared_ptr<prometheus::Collectable>>& sources);

// Standard histogram buckets for seconds: 100 us to 60 s.
std::vector<double> seconds_buckets();

}  // namespace ringmaster::comm
