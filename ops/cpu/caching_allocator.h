// Size-keyed free lists for host memory: a training step asks for the same
// buffer sizes every step, so freed blocks are kept and handed out again
// instead of returning to the OS (which would fault fresh pages each step).
// Thread-safe. Memory is 64-byte aligned. An optional limit on the bytes
// held turns a job too big for its worker into an error instead of the
// kernel's OOM kill.
#pragma once

#include <cstddef>

namespace ringmaster::ops::cpu {

// Throws ops::Error when a limit is set and the bytes held by tensors would
// pass it (cached free blocks are released first).
void* host_alloc(size_t nbytes);
void host_free(void* ptr, size_t nbytes);
void host_release_cached();
// 0: no limit. Bytes held by live host allocations (cache not included).
void host_set_limit(size_t bytes);
size_t host_limit();
size_t host_in_use();

}  // namespace ringmaster::ops::cpu
