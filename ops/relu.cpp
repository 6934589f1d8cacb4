// relu: device-independent part (allocation, autograd). Kernels: cpu/relu_cpu.cpp.
#include "ops/relu.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
Tensor relu(const Tensor& x) {
  RM_CHECK(is_compute_dtype(x), "relu needs f32 (or f16 on a GPU), got ", to_string(x));
  Tensor y = empty_like(x);
  KernelTable<ReluKernels>::get().on(x.device(), "relu").forward(x, y);
  if (!needs_grad({&x})) return y;
  return record(y,
                backward_node("ReluBackward",
                              [y = y.detach()](const Tensor& dy) -> std::vector<Tensor> {
                                Tensor dx = empty_like(y);
                                KernelTable<ReluKernels>::get()
                                    .on(y.device(), "relu")
                                    .backward(y, same_layout_as(dy, y), dx);
                                return {dx};
                              }),
                {x});
}

}  // namespace ringmaster::ops
