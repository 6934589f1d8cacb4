// Size-keyed free lists for host memory: a training step asks for the same
// buffer sizes every step, so freed blocks are kept and handed out again
// instead of returning to the OS (which would fault fresh pages each step).
// Thread-safe. Memory is 64-byte aligned.
#pragma once

#include <cstddef>

namespace ringmaster::ops::cpu {

void* host_alloc(size_t nbytes);
void host_free(void* ptr, size_t nbytes);
void host_release_cached();

}  // namespace ringmaster::ops::cpu
