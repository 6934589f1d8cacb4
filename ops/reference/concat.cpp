// Reference concat: element by element through (outer, axis, inner) indices;
// no memcpy, so it shares nothing with the kernel it checks.
#include "ops/reference/concat.h"

namespace ringmaster::ops::reference {

RefTensor concat(const std::vector<RefTensor>& xs, int axis) {
  const int nd = static_cast<int>(xs[0].shape.size());
  const size_t a = static_cast<size_t>(axis < 0 ? axis + nd : axis);
  Shape out = xs[0].shape;
  out[a] = 0;
  for (const RefTensor& x : xs) out[a] += x.shape[a];
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < a; ++d) outer *= out[d];
  for (size_t d = a + 1; d < out.size(); ++d) inner *= out[d];
  RefTensor y(out);
  int64_t offset = 0;
  for (const RefTensor& x : xs) {
    const int64_t len = x.shape[a];
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < len; ++k)
        for (int64_t i = 0; i < inner; ++i)
          y.v[static_cast<size_t>((o * out[a] + offset + k) * inner + i)] =
              x.v[static_cast<size_t>((o * len + k) * inner + i)];
    offset += len;
  }
  return y;
}

}  // namespace ringmaster::ops::reference
