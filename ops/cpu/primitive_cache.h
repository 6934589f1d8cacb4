// Per-shape caches of oneDNN primitives for the CPU kernels: a string key
// built from memory descriptors and scalars, and a mutex-protected map that
// creates each entry once and then hands out shared, immutable entries.
// Unbounded by default: a convolutional training run sees few shapes. A
// cache given a capacity keeps that many entries and drops the least
// recently used one past it (the RNN plans: one per sequence length and
// batch group, which text data makes many); a dropped entry lives on while
// a caller holds it. Internal to ops/cpu (oneDNN types).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>

namespace ringmaster::ops::cpu {

// Appends the raw bytes of trivially copyable values to a cache key.
class CacheKey {
 public:
  template <class T>
  CacheKey& add(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    key_.append(reinterpret_cast<const char*>(&v), sizeof(T));
    return *this;
  }
  // Every field oneDNN compares for equality of blocked descriptors.
  CacheKey& add(const dnnl::memory::desc& d) {
    const dnnl_memory_desc_t& m = d.data;
    add(m.ndims).add(m.data_type).add(m.format_kind).add(m.offset0).add(m.extra.flags);
    for (int i = 0; i < m.ndims; ++i) add(m.dims[i]).add(m.padded_dims[i]).add(m.padded_offsets[i]);
    if (m.format_kind == dnnl_blocked) {
      const dnnl_blocking_desc_t& b = m.format_desc.blocking;
      for (int i = 0; i < m.ndims; ++i) add(b.strides[i]);
      add(b.inner_nblks);
      for (int i = 0; i < b.inner_nblks; ++i) add(b.inner_blks[i]).add(b.inner_idxs[i]);
    }
    return *this;
  }
  const std::string& str() const { return key_; }

 private:
  std::string key_;
};

// Entry: any struct of primitive descriptors and primitives. get() is
// thread-safe; make() runs under the lock, at most once per key while the
// entry is cached.
template <class Entry>
class PrimitiveCache {
 public:
  explicit PrimitiveCache(size_t capacity = 0) : capacity_(capacity) {}

  template <class Make>
  std::shared_ptr<const Entry> get(const CacheKey& key, Make&& make) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key.str());
    if (it != map_.end()) {
      recent_.splice(recent_.begin(), recent_, it->second.second);
      return it->second.first;
    }
    auto entry = std::make_shared<const Entry>(make());
    recent_.push_front(key.str());
    map_.emplace(key.str(), std::make_pair(entry, recent_.begin()));
    if (capacity_ > 0 && map_.size() > capacity_) {
      map_.erase(recent_.back());
      recent_.pop_back();
    }
    return entry;
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return map_.size();
  }

 private:
  const size_t capacity_;  // 0: unbounded
  mutable std::mutex mu_;
  std::list<std::string> recent_;  // keys, most recently used first
  std::unordered_map<std::string,
                     std::pair<std::shared_ptr<const Entry>, std::list<std::string>::iterator>>
      map_;
};

}  // namespace ringmaster::ops::cpu
