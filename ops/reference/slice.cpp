// Reference slice: walks every output element, maps its multi-index to x's
// (axis index + start) and copies.
#include "ops/reference/slice.h"

namespace ringmaster::ops::reference {

RefTensor slice(const RefTensor& x, int axis, int64_t start, int64_t end) {
  const size_t nd = x.shape.size();
  const size_t a = static_cast<size_t>(axis < 0 ? axis + static_cast<int>(nd) : axis);
  Shape out = x.shape;
  out[a] = end - start;
  RefTensor y(out);
  std::vector<int64_t> idx(nd, 0);
  for (int64_t flat = 0; flat < y.numel(); ++flat) {
    int64_t rem = flat, src = 0;
    for (size_t d = nd; d-- > 0;) {
      idx[d] = rem % out[d];
      rem /= out[d];
    }
    for (size_t d = 0; d < nd; ++d) src = src * x.shape[d] + idx[d] + (d == a ? start : 0);
    y.v[static_cast<size_t>(flat)] = x.v[static_cast<size_t>(src)];
  }
  return y;
}

}  // namespace ringmaster::ops::reference
