#include "ops/reference/embedding.h"

namespace ringmaster::ops::reference {

RefTensor embedding(const RefTensor& weight, const std::vector<int64_t>& indices,
                    const Shape& index_shape) {
  const int64_t d = weight.shape[1];
  Shape shape = index_shape;
  shape.push_back(d);
  RefTensor y(shape);
  for (size_t i = 0; i < indices.size(); ++i)
    for (int64_t c = 0; c < d; ++c)
      y.v[i * static_cast<size_t>(d) + static_cast<size_t>(c)] =
          weight.v[static_cast<size_t>(indices[i] * d + c)];
  return y;
}

}  // namespace ringmaster::ops::reference
