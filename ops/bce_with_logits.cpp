// bce_with_logits: device-independent part. Kernels:
// cpu/bce_with_logits_cpu.cpp, cuda/bce_with_logits.cu.
#include "ops/bce_with_logits.h"

#include "ops/elementwise_loss.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {

Tensor bce_with_logits(const Tensor& x, const Tensor& targets, LossReduction reduction) {
  check_loss_inputs(x, targets, "bce_with_logits");
  const double divisor = loss_divisor(x, reduction);
  const Tensor xp = x.to_plain(), tp = targets.to_plain();
  Tensor loss = Tensor::empty({}, DType::f32, x.device());
  KernelTable<BceWithLogitsKernels>::get()
      .on(x.device(), "bce_with_logits")
      .forward(xp, tp, divisor, loss);
  return record_loss(loss, "BceWithLogitsBackward", x, targets, divisor,
                     [](const Tensor& a, const Tensor& t, float scale, const Tensor& dx) {
                       KernelTable<BceWithLogitsKernels>::get()
                           .on(a.device(), "bce_with_logits")
                           .backward(a, t, scale, dx);
                     });
}

}  // namespace ringmaster::ops
