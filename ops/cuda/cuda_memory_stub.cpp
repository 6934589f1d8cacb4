// Build without CUDA: no devices, and any attempt to use one is a clear error.
#include "ops/check.h"
#include "ops/cuda/cuda_memory.h"

namespace ringmaster::ops::cuda {

namespace {
constexpr const char* kReason = "this build of ringmaster has no CUDA backend (nvcc was not found)";
}

bool built() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return kReason; }
void* alloc(size_t, int) { throw Error(kReason); }
void free(void*, size_t, int) {}
void copy(void*, bool, const void*, bool, size_t) { throw Error(kReason); }
void memset_zero(void*, size_t) { throw Error(kReason); }
void release_cached() {}
void set_alloc_poison(bool) {}

}  // namespace ringmaster::ops::cuda
