// CUDA runtime entry points used by ops/ (internal header). In a build
// without CUDA these report "not built" and allocations throw ops::Error.
// Thread-safe; copies and memsets block.
#pragma once

#include <cstddef>
#include <string>

namespace ringmaster::ops::cuda {

bool built();
int device_count();  // 0 when unavailable; never throws
std::string unavailable_reason();
void* alloc(size_t nbytes, int device);
void free(void* ptr, size_t nbytes, int device);
void copy(void* dst, bool dst_on_gpu, const void* src, bool src_on_gpu, size_t nbytes);
void memset_zero(void* ptr, size_t nbytes);
void release_cached();
// Fill every block handed out with 0xFF bytes (a test aid; no-op without CUDA).
void set_alloc_poison(bool on);

}  // namespace ringmaster::ops::cuda
