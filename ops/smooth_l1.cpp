// smooth_l1_loss: device-independent part. Kernels: cpu/smooth_l1_cpu.cpp,
// cuda/smooth_l1.cu.
#include "ops/smooth_l1.h"

#include <cmath>

#include "ops/elementwise_loss.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {

Tensor smooth_l1_loss(const Tensor& x, const Tensor& target, double beta, LossReduction reduction,
                      double sum_divisor) {
  check_loss_inputs(x, target, "smooth_l1_loss");
  RM_THROW_IF(!(beta >= 0.0) || !std::isfinite(beta), "smooth_l1_loss: beta ", beta,
              " must be a finite number >= 0");
  RM_THROW_IF(!(sum_divisor > 0.0) || !std::isfinite(sum_divisor), "smooth_l1_loss: sum_divisor ",
              sum_divisor, " must be a finite number > 0");
  const double divisor =
      reduction == LossReduction::kSum ? sum_divisor : loss_divisor(x, reduction);
  const Tensor xp = x.to_plain(), tp = target.to_plain();
  Tensor loss = Tensor::empty({}, DType::f32, x.device());
  KernelTable<SmoothL1Kernels>::get()
      .on(x.device(), "smooth_l1_loss")
      .forward(xp, tp, beta, divisor, loss);
  return record_loss(loss, "SmoothL1Backward", x, target, divisor,
                     [beta](const Tensor& a, const Tensor& t, float scale, const Tensor& dx) {
                       KernelTable<SmoothL1Kernels>::get()
                           .on(a.device(), "smooth_l1_loss")
                           .backward(a, t, beta, scale, dx);
                     });
}

}  // namespace ringmaster::ops
