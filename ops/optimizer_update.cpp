// Optimizer updates: device-independent part (checks, kernel lookup).
// Kernels: cpu/optimizer_update_cpu.cpp, cuda/optimizer_update.cu.
#include "ops/optimizer_update.h"

#include <cmath>
#include <cstring>

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

bool unscale_grads(const std::vector<Tensor>& grads, float inv_scale) {
  // One zeroed flag per device, read back once.
  std::vector<std::pair<Device, Tensor>> flags;
  auto flag_for = [&](Device d) {
    for (auto& [dev, f] : flags)
      if (dev == d) return f;
    flags.emplace_back(d, Tensor::zeros({1}, DType::i32, d));
    return flags.back().second;
  };
  for (const Tensor& g : grads) {
    RM_CHECK(g.defined() && g.dtype() == DType::f32 && g.is_plain(),
             "unscale_grads: gradients must be plain f32, got ", to_string(g));
    kernels(g.device()).unscale(g, inv_scale, flag_for(g.device()));
  }
  bool found = false;
  for (const auto& [dev, f] : flags) found = found || f.to(Device::cpu()).data<int32_t>()[0] != 0;
  return found;
}

double grad_norm(const std::vector<Tensor>& grads) {
  // One accumulator per device: 8 zero bytes (an i64 tensor) that the
  // kernels read and write as a double.
  std::vector<std::pair<Device, Tensor>> sums;
  auto sum_for = [&](Device d) {
    for (auto& [dev, s] : sums)
      if (dev == d) return s;
    sums.emplace_back(d, Tensor::zeros({1}, DType::i64, d));
    return sums.back().second;
  };
  for (const Tensor& g : grads) {
    RM_CHECK(g.defined() && g.dtype() == DType::f32 && g.is_plain(),
             "grad_norm: gradients must be plain f32, got ", to_string(g));
    kernels(g.device()).sum_squares(g, sum_for(g.device()));
  }
  double total = 0.0;
  for (const auto& [dev, s] : sums) {
    const Tensor host = s.to(Device::cpu());
    double v = 0.0;
    std::memcpy(&v, host.raw(), sizeof v);
    total += v;
  }
  return std::sqrt(total);
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
