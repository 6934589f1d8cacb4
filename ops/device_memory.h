// Raw memory on a device: allocation (through a per-device caching allocator,
// so training steps reuse buffers instead of faulting in fresh pages), copies
// between devices, and device discovery. Thread-safe. Blocking copies.
#pragma once

#include <cstddef>
#include <string>

#include "ops/tensor.h"

namespace ringmaster::ops {

void* device_alloc(size_t nbytes, Device device);
void device_free(void* ptr, size_t nbytes, Device device);
// Copies nbytes; either side may be cpu or cuda. Blocks until done.
void device_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);
void device_memset_zero(void* ptr, size_t nbytes, Device device);

// Number of usable CUDA devices: 0 when the build has no CUDA or the machine
// has no GPU (never throws). The reason for 0 is in cuda_unavailable_reason().
int cuda_device_count();
std::string cuda_unavailable_reason();
bool cuda_built();
// Releases cached free blocks back to the system (all devices).
void release_cached_memory();
// A limit on the host memory tensors may hold, process-wide (0: none, the
// default): an allocation that would pass it throws ops::Error naming the
// sizes, so a job too big for its worker fails instead of being OOM-killed.
// A worker sets it to the memory it offers.
void set_host_memory_limit(size_t bytes);
size_t host_memory_in_use();
// Test aid: while on, every CUDA block handed out (fresh or cached) is first
// filled with 0xFF bytes, NaN as f32 and f16, so a kernel that leaves an
// output element unwritten fails its test. Also on when RM_CUDA_POISON=1.
// Costs a memset per allocation; no-op in a build without CUDA.
void set_cuda_alloc_poison(bool on);

// Number of threads our CPU kernels and oneDNN use in this process.
void set_cpu_threads(int n);
int cpu_threads();

}  // namespace ringmaster::ops
