// Reference dropout: one scalar pass in double over plain values; the mask
// comes from the shared keep function, the scaling is recomputed in double.
#include "ops/reference/dropout.h"

#include "ops/dropout.h"

namespace ringmaster::ops::reference {

RefTensor dropout(const RefTensor& x, float p, uint64_t seed) {
  RefTensor y(x.shape);
  const double scale = p < 1.0f ? 1.0 / (1.0 - static_cast<double>(p)) : 0.0;
  const uint64_t threshold = dropout_threshold(p);
  for (size_t i = 0; i < x.v.size(); ++i)
    y.v[i] = dropout_keeps(seed, i, threshold) ? x.v[i] * scale : 0.0;
  return y;
}

}  // namespace ringmaster::ops::reference
