// Reference bilinear resize: each output pixel computed on its own in double
// from the four input pixels around its source coordinate (see ops/resize.h
// for the coordinate modes). Forward only. Never the fast path.
#pragma once

#include "ops/reference/ref_tensor.h"
#include "ops/resize.h"

namespace ringmaster::ops::reference {

RefTensor resize_bilinear(const RefTensor& x, const ResizeParams& p);

}  // namespace ringmaster::ops::reference
