// Optimizer updates: device-independent part (checks, kernel lookup).
// Kernels: cpu/optimizer_update_cpu.cpp, cuda/optimizer_update.cu.
#include "ops/optimizer_update.h"

#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

void check_like(const Tensor& t, const Tensor& param, const char* what) {
  RM_CHECK(t.defined() && t.dtype() == DType::f32 && t.is_plain() && t.shape() == param.shape() &&
               t.device() == param.device(),
           "optimizer update: ", what, " is ", to_string(t), " for a parameter ", to_string(param));
}

const OptimizerUpdateKernels& kernels(Device d) {
  return KernelTable<OptimizerUpdateKernels>::get().on(d, "optimizer update");
}

}  // namespace

void sgd_update(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf,
                const SgdStep& s) {
  check_like(param, param, "the parameter");
  check_like(grad, param, "the gradient");
  if (s.momentum != 0.0f) check_like(momentum_buf, param, "the momentum buffer");
  kernels(param.device()).sgd(param, grad, momentum_buf, s);
}

void adam_update(const Tensor& param, const Tensor& grad, const Tensor& m, const Tensor& v,
                 const AdamStep& s) {
  check_like(param, param, "the parameter");
  check_like(grad, param, "the gradient");
  check_like(m, param, "the first moment");
  check_like(v, param, "the second moment");
  kernels(param.device()).adam(param, grad, m, v, s);
}

}  // namespace ringmaster::ops
