// Host caching allocator (see header). Blocks are bucketed by exact size; a
// cache over kMaxCachedBytes is trimmed by freeing the block being returned.
#include "ops/cpu/caching_allocator.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "ops/check.h"

namespace ringmaster::ops::cpu {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kMaxCachedBytes = size_t{2} << 30;

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  size_t cached_bytes = 0;
  size_t in_use = 0;  // bytes handed out and not yet returned
  size_t limit = 0;   // 0: none
};

std::string gib(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", static_cast<double>(bytes) / (1 << 30));
  return buf;
}

// Frees every cached block; c.mu held.
void release_locked(Cache& c) {
  for (auto& [size, blocks] : c.free_blocks) {
    for (void* p : blocks) std::free(p);
  }
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

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
    if (c.limit > 0) {
      RM_THROW_IF(n > c.limit || c.in_use > c.limit - n, "out of memory: ", gib(n),
                  " more for tensors, with ", gib(c.in_use), " held, would pass the ", gib(c.limit),
                  " this process may use (the worker's --memory); the job needs a "
                  "smaller model, batch or data set, or a worker that offers more");
      if (c.in_use + c.cached_bytes + n > c.limit) release_locked(c);
    }
    auto it = c.free_blocks.find(n);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      c.cached_bytes -= n;
      c.in_use += n;
      return p;
    }
    c.in_use += n;  // counted before the allocation, so concurrent ones see it
  }
  void* p = std::aligned_alloc(kAlign, n);
  if (p == nullptr) {
    std::lock_guard<std::mutex> lock(c.mu);
    c.in_use -= n;
    throw std::bad_alloc();
  }
  return p;
}

void host_free(void* ptr, size_t nbytes) {
  if (ptr == nullptr) return;
  const size_t n = rounded(nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    c.in_use -= n;
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
  release_locked(c);
}

void host_set_limit(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = bytes;
}

size_t host_limit() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.limit;
}

size_t host_in_use() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.in_use;
}

}  // namespace ringmaster::ops::cpu
