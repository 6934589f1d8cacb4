// Reference cast: one scalar conversion per element through the bit-exact
// converter (not the F16C path it checks).
#include "ops/reference/cast.h"

#include "ops/half.h"

namespace ringmaster::ops::reference {

RefTensor cast(const RefTensor& x, DType to) {
  RefTensor y(x.shape);
  for (size_t i = 0; i < x.v.size(); ++i) {
    const float f = static_cast<float>(x.v[i]);
    y.v[i] = to == DType::f16 ? half_to_float_scalar(float_to_half_scalar(f)) : f;
  }
  return y;
}

}  // namespace ringmaster::ops::reference
