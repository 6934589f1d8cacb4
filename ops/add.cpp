// add: device-independent part (checks, layout matching, autograd). Kernels:
// cpu/add_cpu.cpp. No backward kernel: the gradient is dy itself.
#include "ops/add.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

bool is_leaf_needing_grad(const Tensor& t) {
  return t.defined() && t.requires_grad() && !t.grad_fn();
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  RM_CHECK(is_compute_dtype(a) && a.dtype() == b.dtype(), "add needs f32 (or f16 on a GPU), got ",
           to_string(a), " and ", to_string(b));
  RM_CHECK(a.shape() == b.shape(), "add needs equal shapes, got ", shape_str(a.shape()), " and ",
           shape_str(b.shape()));
  RM_CHECK(a.device() == b.device(), "add: a on ", a.device().str(), ", b on ", b.device().str());
  Tensor bb = same_layout_as(b, a);
  Tensor y = empty_like(a);
  KernelTable<AddKernels>::get().on(a.device(), "add").forward(a, bb, y);
  if (!needs_grad({&a, &b})) return y;
  // Two leaves must not end up sharing one gradient buffer (an in-place
  // update of one .grad() would change the other): b gets a copy then.
  return record(y,
                backward_node("AddBackward",
                              [](const Tensor& dy, const std::vector<Tensor>& inputs) {
                                const bool both_leaves = is_leaf_needing_grad(inputs[0]) &&
                                                         is_leaf_needing_grad(inputs[1]);
                                return std::vector<Tensor>{dy, both_leaves ? dy.clone() : dy};
                              }),
                {a, b});
}

}  // namespace ringmaster::ops
