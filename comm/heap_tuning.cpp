// keep_large_blocks_on_heap (see header).
#include "comm/heap_tuning.h"

#include <malloc.h>

#include <cstdlib>
#include <mutex>

namespace ringmaster::comm {

void keep_large_blocks_on_heap() {
  static std::once_flag once;
  std::call_once(once, [] {
    constexpr int kThreshold = 256 << 20;
    if (std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr) mallopt(M_MMAP_THRESHOLD, kThreshold);
    if (std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr) mallopt(M_TRIM_THRESHOLD, kThreshold);
  });
}

}  // namespace ringmaster::comm
