// Device-independent memory entry points (see ops/device_memory.h): cpu goes
// to the host caching allocator, cuda to ops/cuda/ (or a clear error in a
// build without CUDA). Also the process-wide CPU thread count.
#include <omp.h>

#include <cstring>

#include "ops/cpu/caching_allocator.h"
#include "ops/cuda/cuda_memory.h"
#include "ops/device_memory.h"

namespace ringmaster::ops {

void* device_alloc(size_t nbytes, Device device) {
  if (device.is_cpu()) return cpu::host_alloc(nbytes);
  return cuda::alloc(nbytes, device.index);
}

void device_free(void* ptr, size_t nbytes, Device device) {
  if (device.is_cpu()) return cpu::host_free(ptr, nbytes);
  cuda::free(ptr, nbytes, device.index);
}

void device_copy(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes) {
  if (nbytes == 0) return;
  if (dst_device.is_cpu() && src_device.is_cpu()) {
    std::memcpy(dst, src, nbytes);
    return;
  }
  cuda::copy(dst, dst_device.is_cuda(), src, src_device.is_cuda(), nbytes);
}

void device_memset_zero(void* ptr, size_t nbytes, Device device) {
  if (nbytes == 0) return;
  if (device.is_cpu()) {
    std::memset(ptr, 0, nbytes);
    return;
  }
  cuda::memset_zero(ptr, nbytes);
}

int cuda_device_count() { return cuda::device_count(); }
std::string cuda_unavailable_reason() { return cuda::unavailable_reason(); }
bool cuda_built() { return cuda::built(); }

void release_cached_memory() {
  cpu::host_release_cached();
  cuda::release_cached();
}

void set_host_memory_limit(size_t bytes) { cpu::host_set_limit(bytes); }
size_t host_memory_in_use() { return cpu::host_in_use(); }

void set_cuda_alloc_poison(bool on) { cuda::set_alloc_poison(on); }

void set_cpu_threads(int n) {
  RM_CHECK(n >= 1, "thread count must be >= 1, got ", n);
  omp_set_num_threads(n);
}

int cpu_threads() { return omp_get_max_threads(); }

}  // namespace ringmaster::ops
