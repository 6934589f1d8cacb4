// Host caching allocator (see header). Blocks are bucketed by exact size; a
// cache over kMaxCachedBytes is trimmed by freeing the block being returned.
#include "ops/cpu/caching_allocator.h"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace ringmaster::ops::cpu {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kMaxCachedBytes = size_t{2} << 30;

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached_bytes = 0;
};

Cache& cache() {
  static Cache* c = new Cache();  // leaked on purpose: outlives static tensors
  return *c;
}

size_t rounded(size_t n) { return n == 0 ? kAlign : (n + kAlign - 1) / kAlign * kAlign; }

}  // namespace

void* host_alloc(size_t nbytes) {
  const size_t n = rounded(nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.free_blocks.find(n);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= n;
      return p;
    }
  }
  void* p = std::aligned_alloc(kAlign, n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void host_free(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  const size_t n = rounded(nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (c.cached_bytes + n <= kMaxCachedBytes) {
      c.free_blocks[n].push_back(ptr);
      c.cached_bytes += n;
      return;
    }
  }
  std::free(ptr);
}

void host_release_cached() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  for (auto& [size, blocks] : c.free_blocks) {
    for (void* p : blocks) std::free(p);
  }
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

}  // namespace ringmaster::ops::cpu
