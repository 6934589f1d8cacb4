// Small oneDNN helpers shared by CPU kernels that cache primitives: a Layout
// (a desc plus the MemoryFormat every tensor allocated in it shares, so a
// cached plan allocates outputs without making a new format each call) and a
// cached Reorder. Internal to ops/cpu; no primitive caching policy here.
#pragma once

#include <memory>
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

// A reorder from one desc to a layout, made once; a no-op when they are equal.
struct Reorder {
  dnnl::memory::desc from;
  Layout to;
  dnnl::reorder prim;
  bool needed = false;

  Reorder() = default;
  Reorder(const dnnl::memory::desc& f, Layout t)
      : from(f), to(std::move(t)), needed(from != to.desc) {
    if (needed) {
      prim = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), from, engine(), to.desc));
    }
  }
  // src's buffer (read as `from`) stored in `to`; src itself when no reorder
  // is needed. Runs on the thread's stream; the caller waits.
  Tensor operator()(const Tensor& src) const {
    if (!needed) return src;
    Tensor out = to.empty();
    into(src, out);
    return out;
  }
  // Same, into dst's buffer (which is in `to`).
  void into(const Tensor& src, const Tensor& dst) const {
    dnnl::memory s(from, engine(), src.raw());
    dnnl::memory d(to.desc, engine(), dst.raw());
    prim.execute(stream(), s, d);
  }
};

}  // namespace ringmaster::ops::cpu
