// batch_norm2d CPU kernels: oneDNN batch_normalization with separate scale
// and shift (forward_training computes the batch statistics; eval uses
// use_global_stats), primitives cached per (x layout, mode, eps). x, y, dy and
// dx share one layout, whatever it is; no reorders. No fused relu here.
#include <unordered_map>

#include "ops/batch_norm2d.h"
#include "ops/cpu/memory_format.h"
#include "ops/cpu/primitive_cache.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

using dnnl::memory;
using BnFwd = dnnl::batch_normalization_forward;
using BnBwd = dnnl::batch_normalization_backward;

dnnl::normalization_flags flags_for(bool training) {
  auto f = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  return training ? f : f | dnnl::normalization_flags::use_global_stats;
}

BnFwd::primitive_desc make_fwd_pd(const memory::desc& src, bool training, float eps,
                                  dnnl::prop_kind prop) {
  return BnFwd::primitive_desc(BnFwd::desc(prop, src, eps, flags_for(training)), cpu::engine());
}

struct FwdEntry {
  BnFwd::primitive_desc pd;
  BnFwd prim;
};
struct BwdEntry {
  BnBwd::primitive_desc pd;
  BnBwd prim;
};

cpu::CacheKey key_for(const memory::desc& src, bool training, float eps) {
  cpu::CacheKey key;
  key.add(src).add(training).add(eps);
  return key;
}

void execute(const dnnl::primitive& p, const std::unordered_map<int, memory>& args) {
  p.execute(cpu::stream(), args);
  cpu::stream().wait();
}

void bn_forward_cpu(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& mean,
                    const Tensor& var, bool training, float eps, const Tensor& y) {
  static cpu::PrimitiveCache<FwdEntry> cache;
  const memory::desc src = cpu::desc_of(x);
  auto e = cache.get(key_for(src, training, eps), [&] {
    // Eval needs no statistics out and no workspace: inference is enough.
    const auto prop =
        training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
    BnFwd::primitive_desc pd = make_fwd_pd(src, training, eps, prop);
    return FwdEntry{pd, BnFwd(pd)};
  });
  execute(e->prim, {{DNNL_ARG_SRC, cpu::memory_of(x)},
                    {DNNL_ARG_DST, cpu::memory_of(y)},
                    {DNNL_ARG_SCALE, cpu::memory_of(gamma)},
                    {DNNL_ARG_SHIFT, cpu::memory_of(beta)},
                    {DNNL_ARG_MEAN, cpu::memory_of(mean)},
                    {DNNL_ARG_VARIANCE, cpu::memory_of(var)}});
}

void bn_backward_cpu(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& beta,
                     const Tensor& mean, const Tensor& var, bool training, float eps,
                     const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta) {
  static cpu::PrimitiveCache<BwdEntry> cache;
  const memory::desc src = cpu::desc_of(x);
  auto e = cache.get(key_for(src, training, eps), [&] {
    const BnFwd::primitive_desc hint =
        make_fwd_pd(src, training, eps, dnnl::prop_kind::forward_training);
    const BnBwd::desc d(dnnl::prop_kind::backward, src, src, eps, flags_for(training));
    BnBwd::primitive_desc pd(d, cpu::engine(), hint);
    return BwdEntry{pd, BnBwd(pd)};
  });
  execute(e->prim, {{DNNL_ARG_SRC, cpu::memory_of(x)},
                    {DNNL_ARG_DIFF_DST, cpu::memory_of(dy)},
                    {DNNL_ARG_SCALE, cpu::memory_of(gamma)},
                    {DNNL_ARG_MEAN, cpu::memory_of(mean)},
                    {DNNL_ARG_VARIANCE, cpu::memory_of(var)},
                    {DNNL_ARG_DIFF_SRC, cpu::memory_of(dx)},
                    {DNNL_ARG_DIFF_SCALE, cpu::memory_of(dgamma)},
                    {DNNL_ARG_SHIFT, cpu::memory_of(beta)},  // unused, but 2.6 asks for it
                    {DNNL_ARG_DIFF_SHIFT, cpu::memory_of(dbeta)}});
}

void bn_update_running_cpu(const Tensor& batch_mean, const Tensor& batch_var, int64_t count,
                           float momentum, const Tensor& running_mean, const Tensor& running_var) {
  // All (C).
  const float* bm = batch_mean.data<float>();
  const float* bv = batch_var.data<float>();
  float* rm = running_mean.data<float>();
  float* rv = running_var.data<float>();
  const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
  const int64_t c = batch_mean.numel();
  for (int64_t i = 0; i < c; ++i) {
    rm[i] = static_cast<float>((1.0 - momentum) * rm[i] + momentum * static_cast<double>(bm[i]));
    rv[i] = static_cast<float>((1.0 - momentum) * rv[i] + momentum * unbias * bv[i]);
  }
}

}  // namespace

RM_REGISTER_KERNELS(BatchNormKernels, cpu,
                    {bn_forward_cpu, bn_backward_cpu, bn_update_running_cpu});

}  // namespace ringmaster::ops
