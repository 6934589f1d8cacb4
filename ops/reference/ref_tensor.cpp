// Conversions between Tensor and the reference oracle's RefTensor.
#include "ops/reference/ref_tensor.h"

namespace ringmaster::ops::reference {

RefTensor from_tensor(const Tensor& t) {
  std::vector<float> f = t.to_vector();
  return RefTensor(t.shape(), std::vector<double>(f.begin(), f.end()));
}

Tensor to_tensor(const RefTensor& r) {
  std::vector<float> f(r.v.begin(), r.v.end());
  return Tensor::from_vector(f, r.shape);
}

}  // namespace ringmaster::ops::reference
