#include "ops/reference/relu.h"

namespace ringmaster::ops::reference {

RefTensor relu(const RefTensor& x) {
  RefTensor y(x.shape);
  for (size_t i = 0; i < x.v.size(); ++i) y.v[i] = x.v[i] > 0.0 ? x.v[i] : 0.0;
  return y;
}

}  // namespace ringmaster::ops::reference
