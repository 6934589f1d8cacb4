// The CPU backend's side of Tensor layouts: a MemoryFormat wraps a oneDNN
// memory descriptor, and helpers move tensors between plain and blocked
// layouts. Internal to ops/ (never included from a public header).
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "ops/tensor.h"

namespace ringmaster::ops {

struct MemoryFormat {
  dnnl::memory::desc desc;
};

namespace cpu {

dnnl::engine& engine();
dnnl::stream& stream();

dnnl::memory::data_type dnnl_type(DType t);
dnnl::memory::dims dims_of(const Shape& s);
// Plain row-major descriptor for a shape (abcd... tag).
dnnl::memory::desc plain_desc(const Shape& s, DType t);
// The descriptor describing how t is stored now.
dnnl::memory::desc desc_of(const Tensor& t);
// A oneDNN memory object over t's buffer (no copy).
dnnl::memory memory_of(const Tensor& t);
// A new tensor of the given logical shape stored as desc says.
Tensor empty_like_desc(const Shape& shape, DType dtype, const dnnl::memory::desc& desc);
// t stored as desc says: t itself when it already is, else a reordered copy.
Tensor to_desc(const Tensor& t, const dnnl::memory::desc& desc);
// Zero the physical buffer of t.
void zero(const Tensor& t);

}  // namespace cpu
}  // namespace ringmaster::ops
