// What smooth_l1_loss and bce_with_logits share on the device-independent
// side: the checks of a prediction and its target, the divisor a reduction
// implies, and the autograd node that reads the upstream scalar on the host
// and asks the backend for the scaled derivatives. Internal to those ops.
#pragma once

#include <functional>
#include <string>

#include "ops/autograd.h"
#include "ops/loss_reduction.h"
#include "ops/tensor.h"

namespace ringmaster::ops {

inline void check_loss_inputs(const Tensor& x, const Tensor& target, const char* op) {
  RM_THROW_IF(!x.defined() || !target.defined() || x.dtype() != DType::f32 ||
                  target.dtype() != DType::f32 || x.shape() != target.shape() ||
                  x.device() != target.device(),
              op, ": input and target must be f32 of one shape on one device, got ",
              x.defined() ? to_string(x) : std::string("nothing"), " and ",
              target.defined() ? to_string(target) : std::string("nothing"));
  RM_THROW_IF(x.numel() == 0, op, ": no elements (a mean over nothing)");
}

inline double loss_divisor(const Tensor& x, LossReduction r) {
  return r == LossReduction::kMean ? static_cast<double>(x.numel()) : 1.0;
}

// backward(x, target, scale, dx) fills dx with scale times the derivatives.
inline Tensor record_loss(
    Tensor loss, const char* name, const Tensor& x, const Tensor& target, double divisor,
    std::function<void(const Tensor&, const Tensor&, float, const Tensor&)> backward) {
  if (!needs_grad({&x})) return loss;
  return record(
      loss,
      backward_node(name,
                    [xp = x.to_plain(), tp = target.to_plain(), divisor,
                     backward = std::move(backward)](const Tensor& dy) -> std::vector<Tensor> {
                      const float scale =
                          static_cast<float>(dy.to(Device::cpu()).to_vector()[0] / divisor);
                      Tensor dx = Tensor::empty(xp.shape(), DType::f32, xp.device());
                      backward(xp, tp, scale, dx);
                      return {dx};
                    }),
      {x});
}

}  // namespace ringmaster::ops
