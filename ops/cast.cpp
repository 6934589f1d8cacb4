// cast: device-independent part (checks, allocation, autograd). Kernels:
// cpu/cast_cpu.cpp. The backward node converts dy the other way.
#include "ops/cast.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

bool is_float(DType t) { return t == DType::f32 || t == DType::f16; }

// x in `to` (x itself when it already is); no autograd.
Tensor convert(const Tensor& x, DType to) {
  if (x.dtype() == to) return x;
  Tensor xp = x.to_plain();
  Tensor y = Tensor::empty(x.shape(), to, x.device());
  KernelTable<CastKernels>::get().on(x.device(), "cast").convert(xp, y);
  return y;
}

}  // namespace

Tensor cast(const Tensor& x, DType to) {
  if (x.dtype() == to) return x;
  RM_CHECK(is_float(x.dtype()) && is_float(to), "cast supports f32 <-> f16 only, got ",
           to_string(x), " to ", dtype_name(to));
  Tensor y = convert(x, to);
  if (!needs_grad({&x})) return y;
  return record(y,
                backward_node("CastBackward",
                              [from = x.dtype()](const Tensor& dy) -> std::vector<Tensor> {
                                return {convert(dy, from)};
                              }),
                {x});
}

}  // namespace ringmaster::ops
