// Per-shape caches of oneDNN primitives for the CPU kernels: a string key
// built from memory descriptors and scalars, and a mutex-protected map that
// creates each entry once and then hands out shared, immutable entries.
// Entries live for the process (a training run sees few shapes); nothing is
// evicted. Internal to ops/cpu (oneDNN types).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

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
// thread-safe; make() runs under the lock, at most once per key.
template <class Entry>
class PrimitiveCache {
 public:
  template <class Make>
  std::shared_ptr<const Entry> get(const CacheKey& key, Make&& make) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(key.str());
    if (it != map_.end()) return it->second;
    auto entry = std::make_shared<const Entry>(make());
    map_.emplace(key.str(), entry);
    return entry;
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> map_;
};

}  // namespace ringmaster::ops::cpu
