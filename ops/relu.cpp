// relu: device-independent part (allocation, autograd). Kernels: cpu/relu_cpu.cpp.
#include "ops/relu.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

class ReluBackward : public Node {
 public:
  explicit ReluBackward(Tensor y) : y_(std::move(y)) {}
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dy_same = same_layout_as(dy, y_);
    Tensor dx = empty_like(y_);
    KernelTable<ReluKernels>::get().on(y_.device(), "relu").backward(y_, dy_same, dx);
    return {dx};
  }
  const char* name() const override { return "ReluBackward"; }

 private:
  Tensor y_;
};

}  // namespace

Tensor relu(const Tensor& x) {
  RM_CHECK(is_compute_dtype(x), "relu needs f32 (or f16 on a GPU), got ", to_string(x));
  Tensor y = empty_like(x);
  KernelTable<ReluKernels>::get().on(x.device(), "relu").forward(x, y);
  if (!needs_grad({&x})) return y;
  return record(y, std::make_shared<ReluBackward>(y.detach()), {x});
}

}  // namespace ringmaster::ops
