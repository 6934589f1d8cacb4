// Helpers for allocating outputs and matching layouts (see tensor_like.h).
#include "ops/tensor_like.h"

#include "ops/cpu/memory_format.h"
#include "ops/device_memory.h"

namespace ringmaster::ops {

Tensor empty_like(const Tensor& t) {
  if (t.is_plain()) return Tensor::empty(t.shape(), t.dtype(), t.device());
  return Tensor::empty_with_format(t.shape(), t.dtype(), t.format(), t.nbytes());
}

Tensor zeros_like(const Tensor& t) {
  Tensor z = empty_like(t);
  device_memset_zero(z.raw(), z.nbytes(), z.device());
  return z;
}

Tensor same_layout_as(const Tensor& t, const Tensor& like) {
  RM_CHECK(t.shape() == like.shape(), "shape ", shape_str(t.shape()), " vs ",
           shape_str(like.shape()));
  if (t.format() == like.format()) return t;
  if (t.device().is_cuda()) return t;  // CUDA tensors are always plain
  return cpu::to_desc(t, cpu::desc_of(like));
}

bool is_compute_dtype(const Tensor& t) {
  return t.dtype() == DType::f32 || (t.dtype() == DType::f16 && t.device().is_cuda());
}

int64_t physical_numel(const Tensor& t) {
  return static_cast<int64_t>(t.nbytes() / dtype_size(t.dtype()));
}

}  // namespace ringmaster::ops
