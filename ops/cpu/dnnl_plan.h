// Small oneDNN helpers for CPU kernels that cache primitives: a Layout (a
// desc plus the MemoryFormat every tensor allocated in it shares, so a cached
// plan allocates outputs without a new format each call), a Primitive run with
// a user scratchpad (so it may run on any thread), and a cached Reorder.
// Internal to ops/cpu; the caches themselves (keys, locking) live per op.
#pragma once

#include <array>
#include <cstdint>

#include <memory>
#include <unordered_map>
#include <utility>

#include "ops/cpu/memory_format.h"

namespace ringmaster::ops::cpu {

// A layout a primitive chose for an f32 tensor of `shape`; format is null when
// the desc is plain row-major.
struct Layout {
  Shape shape;
  dnnl::memory::desc desc;
  std::shared_ptr<const MemoryFormat> format;

  Layout() = default;
  Layout(Shape s, dnnl::memory::desc d) : shape(std::move(s)), desc(std::move(d)) {
    if (desc != plain_desc(shape, DType::f32)) {
      format = std::make_shared<MemoryFormat>(MemoryFormat{desc});
    }
  }
  // Uninitialised tensor in this layout.
  Tensor empty() const {
    if (!format) return Tensor::empty(shape);
    return Tensor::empty_with_format(shape, DType::f32, format, desc.get_size());
  }
};

// Attributes for a primitive that is cached and shared between threads:
// oneDNN's default library scratchpad is common to all primitives and ties
// each primitive to the thread that made it; a user scratchpad does not.
inline dnnl::primitive_attr shared_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// A primitive made once (from a primitive_desc created with shared_attr()).
// Thread-safe: each run takes its own scratchpad from the allocator.
struct Primitive {
  dnnl::primitive prim;
  dnnl::memory::desc scratchpad;

  Primitive() = default;
  template <class PrimitiveDesc>  // any oneDNN primitive_desc, reorder's included
  explicit Primitive(const PrimitiveDesc& pd) : prim(pd.get()), scratchpad(pd.scratchpad_desc()) {}
  // Runs on the thread's stream and blocks until done.
  void run(std::unordered_map<int, dnnl::memory> args) const {
    Tensor pad;
    if (scratchpad.get_size() > 0) {
      pad = Tensor::empty({static_cast<int64_t>(scratchpad.get_size())}, DType::u8);
      args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(scratchpad, engine(), pad.raw()));
    }
    prim.execute(stream(), args);
    stream().wait();
  }
};

// A reorder from one desc to a layout, made once; a no-op when they are equal.
struct Reorder {
  dnnl::memory::desc from;
  Layout to;
  Primitive prim;
  bool needed = false;

  Reorder() = default;
  Reorder(const dnnl::memory::desc& f, Layout t)
      : from(f), to(std::move(t)), needed(from != to.desc) {
    if (needed) {
      prim = Primitive(
          dnnl::reorder::primitive_desc(engine(), from, engine(), to.desc, shared_attr()));
    }
  }
  // src's buffer (read as `from`) stored in `to`; src itself when no reorder
  // is needed. Blocks until done.
  Tensor operator()(const Tensor& src) const {
    if (!needed) return src;
    Tensor out = to.empty();
    into(src, out);
    return out;
  }
  // Same, into dst's buffer (which is in `to`).
  void into(const Tensor& src, const Tensor& dst) const {
    prim.run({{DNNL_ARG_FROM, dnnl::memory(from, engine(), src.raw())},
              {DNNL_ARG_TO, dnnl::memory(to.desc, engine(), dst.raw())}});
  }
};

// Hash of a fixed-size key of integers (a plan cache's key): FNV-1a over the values.
struct IntArrayHash {
  template <size_t N>
  size_t operator()(const std::array<int64_t, N>& k) const {
    uint64_t h = 1469598103934665603ull;
    for (int64_t v : k) h = (h ^ static_cast<uint64_t>(v)) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

}  // namespace ringmaster::ops::cpu
