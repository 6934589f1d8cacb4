// Gradient compression on the wire, shared by the collectives and the metrics.
#pragma once

namespace ringmaster::comm {

enum class Compression {
  kNone,  // exact: float32 on the wire
  kFp16,  // float16 on the wire with a scale, fp32 accumulation, error feedback
};

}  // namespace ringmaster::comm
