// Host caching allocator (see header). Blocks are bucketed by their rounded
// size; a cache that would pass kMaxCachedBytes frees the blocks of the sizes
// asked for least recently first, so sizes no longer used (an evaluation's
// large batches) make way for the ones a training step keeps using.
#include "ops/cpu/caching_allocator.h"

#include <cstdint>
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

struct Bucket {
  std::vector<void*> blocks;
  uint64_t last_used = 0;  // Cache::clock when a block of its size was last taken or returned
};

struct Cache {
  std::mutex mu;
  std::unordered_map<size_t, Bucket> free_blocks;
  uint64_t clock = 0;
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
  for (auto& [size, bucket] : c.free_blocks) {
    for (void* p : bucket.blocks) std::free(p);
  }
  c.free_blocks.clear();
  c.cached_bytes = 0;
}

Cache& cache() {
  static Cache* c = new Cache();  // leaked on purpose: outlives static tensors
  return *c;
}

// Up to 1 MiB, the size rounded to kAlign. Past it, one of eight sizes per
// power of two (at most 12.5% more): tensors whose sizes move a little from
// step to step (a detector's RoI count) then reuse each other's blocks
// instead of faulting in fresh pages.
size_t rounded(size_t n) {
  constexpr size_t kExactUpTo = size_t{1} << 20;
  if (n <= kExactUpTo) return n == 0 ? kAlign : (n + kAlign - 1) / kAlign * kAlign;
  const int log2 = 63 - __builtin_clzll(n);
  const size_t step = size_t{1} << (log2 - 3);
  return (n + step - 1) / step * step;
}

// Frees cached blocks of other sizes than keep, the least recently used size
// first, until bytes more fit under kMaxCachedBytes or none is left; c.mu
// held.
void make_room_locked(Cache& c, size_t bytes, size_t keep) {
  while (c.cached_bytes + bytes > kMaxCachedBytes) {
    auto oldest = c.free_blocks.end();
    for (auto it = c.free_blocks.begin(); it != c.free_blocks.end(); ++it) {
      if (it->first != keep && !it->second.blocks.empty() &&
          (oldest == c.free_blocks.end() || it->second.last_used < oldest->second.last_used))
        oldest = it;
    }
    if (oldest == c.free_blocks.end()) return;
    std::vector<void*>& blocks = oldest->second.blocks;
    while (!blocks.empty() && c.cached_bytes + bytes > kMaxCachedBytes) {
      std::free(blocks.back());
      blocks.pop_back();
      c.cached_bytes -= oldest->first;
    }
    if (blocks.empty()) c.free_blocks.erase(oldest);
  }
}

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
    if (it != c.free_blocks.end() && !it->second.blocks.empty()) {
      Bucket& bucket = it->second;
      bucket.last_used = ++c.clock;
      void* p = bucket.blocks.back();
      bucket.blocks.pop_back();
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
    make_room_locked(c, n, n);
    if (c.cached_bytes + n <= kMaxCachedBytes) {
      Bucket& bucket = c.free_blocks[n];
      bucket.last_used = ++c.clock;
      bucket.blocks.push_back(ptr);
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
