// Gradient compression on the wire, shared by the collectives and the metrics.
#pragma once

#include <map>
#include <string>

namespace ringmaster::comm {

enum class Compression {
  kNone,  // exact: float32 on the wire
  kFp16,  // float16 on the wire with a scale, fp32 accumulation, error feedback
};

// Its spelling in specs, messages and metric labels: "none" | "fp16".
inline const char* to_string(Compression c) { return c == Compression::kNone ? "none" : "fp16"; }
// The inverse: every spelling, for parsers (CLI11's CheckedTransformer takes it).
inline std::map<std::string, Compression> compression_names() {
  return {{"none", Compression::kNone}, {"fp16", Compression::kFp16}};
}

}  // namespace ringmaster::comm
