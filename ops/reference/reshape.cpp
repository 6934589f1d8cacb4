// Reference reshape: copies the values under the new shape, with the -1
// inferred by the same rule the op uses.
#include "ops/reference/reshape.h"

#include "ops/reshape.h"

namespace ringmaster::ops::reference {

RefTensor reshape(const RefTensor& x, const Shape& shape) {
  return RefTensor(infer_shape(shape, x.numel()), x.v);
}

}  // namespace ringmaster::ops::reference
