// box_iou (see box_iou.h): rows in parallel on the CPU.
#include "ops/box_iou.h"

#include <string>

#include "ops/check.h"

namespace ringmaster::ops {

Tensor box_iou(const Tensor& a, const Tensor& b) {
  for (const Tensor* t : {&a, &b})
    RM_THROW_IF(!t->defined() || t->dtype() != DType::f32 || t->ndim() != 2 || t->dim(1) != 4,
                "box_iou: boxes must be (K, 4) f32 x1, y1, x2, y2, got ",
                t->defined() ? to_string(*t) : std::string("nothing"));
  const Tensor ha = a.to(Device::cpu()).to_plain(), hb = b.to(Device::cpu()).to_plain();
  const int64_t na = ha.dim(0), nb = hb.dim(0);
  Tensor out = Tensor::empty({na, nb});
  const float* pa = ha.data<float>();
  const float* pb = hb.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (na * nb > 16384)
  for (int64_t i = 0; i < na; ++i)
    for (int64_t j = 0; j < nb; ++j) o[i * nb + j] = iou_of(pa + 4 * i, pb + 4 * j);
  return out;
}

}  // namespace ringmaster::ops
