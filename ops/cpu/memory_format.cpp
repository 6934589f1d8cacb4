// oneDNN engine/stream singletons and layout conversion (see header).
#include "ops/cpu/memory_format.h"

#include <cstring>

namespace ringmaster::ops::cpu {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

dnnl::memory::data_type dnnl_type(DType t) {
  switch (t) {
    case DType::f32: return dnnl::memory::data_type::f32;
    case DType::f16: return dnnl::memory::data_type::f16;
    case DType::i32: return dnnl::memory::data_type::s32;
    case DType::u8: return dnnl::memory::data_type::u8;
    case DType::i64: break;
  }
  RM_CHECK(false, "oneDNN has no type for ", dtype_name(t));
  return dnnl::memory::data_type::undef;
}

dnnl::memory::dims dims_of(const Shape& s) { return dnnl::memory::dims(s.begin(), s.end()); }

dnnl::memory::desc plain_desc(const Shape& s, DType t) {
  dnnl::memory::dims strides(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) strides[i] = strides[i + 1] * s[i + 1];
  return dnnl::memory::desc(dims_of(s), dnnl_type(t), strides);
}

dnnl::memory::desc desc_of(const Tensor& t) {
  if (!t.is_plain()) return t.format()->desc;
  return plain_desc(t.shape(), t.dtype());
}

dnnl::memory memory_of(const Tensor& t) {
  RM_CHECK(t.device().is_cpu(), "oneDNN memory needs a cpu tensor, got ", to_string(t));
  return dnnl::memory(desc_of(t), engine(), t.raw());
}

Tensor empty_like_desc(const Shape& shape, DType dtype, const dnnl::memory::desc& desc) {
  if (desc == plain_desc(shape, dtype)) return Tensor::empty(shape, dtype);
  auto fmt = std::make_shared<MemoryFormat>(MemoryFormat{desc});
  return Tensor::empty_with_format(shape, dtype, std::move(fmt), desc.get_size());
}

Tensor to_desc(const Tensor& t, const dnnl::memory::desc& desc) {
  const dnnl::memory::desc have = desc_of(t);
  if (have == desc) return t;
  Tensor out = empty_like_desc(t.shape(), t.dtype(), desc);
  dnnl::memory src(have, engine(), t.raw());
  dnnl::memory dst(desc, engine(), out.raw());
  dnnl::reorder(src, dst).execute(stream(), src, dst);
  stream().wait();
  return out;
}

void zero(const Tensor& t) { std::memset(t.raw(), 0, t.nbytes()); }

}  // namespace ringmaster::ops::cpu
