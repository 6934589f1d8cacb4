// local_response_norm CPU kernels on oneDNN's lrn (lrn_across_channels):
// forward (training keeps oneDNN's workspace) and backward, primitives cached
// per (x layout, params, training). x, y, dy and dx share x's layout, blocked
// or plain; dy is reordered to it if it arrives in another. No loops of ours.
#include <unordered_map>

#include "ops/cpu/dnnl_plan.h"
#include "ops/cpu/memory_format.h"
#include "ops/cpu/primitive_cache.h"
#include "ops/kernel_registry.h"
#include "ops/lrn.h"

namespace ringmaster::ops {
namespace {

using cpu::Layout;
using cpu::Primitive;
using dnnl::memory;

struct LrnPlan {
  memory::desc src;  // x as stored; y, dy, dx use it too
  Layout data;       // for allocating y and dx
  memory::desc ws;   // training workspace (may be empty)
  Primitive fwd;
  Primitive bwd;  // training plans only
};

LrnPlan make_plan(const memory::desc& src, const Shape& shape, const LrnParams& p, bool training) {
  LrnPlan plan;
  plan.src = src;
  plan.data = Layout(shape, src);
  const auto alg = dnnl::algorithm::lrn_across_channels;
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  const dnnl::primitive_attr shared = cpu::shared_attr();
  dnnl::lrn_forward::desc fwd_d(prop, alg, src, p.size, p.alpha, p.beta, p.k);
  dnnl::lrn_forward::primitive_desc fwd_pd(fwd_d, shared, cpu::engine());
  plan.fwd = Primitive(fwd_pd);
  if (!training) return plan;
  plan.ws = fwd_pd.workspace_desc();
  dnnl::lrn_backward::desc bwd_d(alg, src, src, p.size, p.alpha, p.beta, p.k);
  plan.bwd = Primitive(dnnl::lrn_backward::primitive_desc(bwd_d, shared, cpu::engine(), fwd_pd));
  return plan;
}

std::shared_ptr<const LrnPlan> plan_for(const Tensor& x, const LrnParams& p, bool training) {
  static cpu::PrimitiveCache<LrnPlan> cache;
  const memory::desc src = cpu::desc_of(x);
  cpu::CacheKey key;
  key.add(src).add(p.size).add(p.alpha).add(p.beta).add(p.k).add(training);
  return cache.get(key, [&] { return make_plan(src, x.shape(), p, training); });
}

struct CpuLrnSaved : LrnSaved {
  std::shared_ptr<const LrnPlan> plan;
  Tensor x;   // (N, C, H, W) in plan->src
  Tensor ws;  // oneDNN workspace bytes (may be undefined)
};

Tensor lrn_forward_cpu(const Tensor& x, const LrnParams& p, std::shared_ptr<LrnSaved>* saved) {
  const bool training = saved != nullptr;
  std::shared_ptr<const LrnPlan> plan = plan_for(x, p, training);
  const dnnl::engine& eng = cpu::engine();
  Tensor y = plan->data.empty();
  Tensor ws;
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(plan->src, eng, x.raw())},
                                       {DNNL_ARG_DST, memory(plan->src, eng, y.raw())}};
  if (training && plan->ws.get_size() > 0) {
    ws = Tensor::empty({static_cast<int64_t>(plan->ws.get_size())}, DType::u8);
    args.emplace(DNNL_ARG_WORKSPACE, memory(plan->ws, eng, ws.raw()));
  }
  plan->fwd.run(std::move(args));
  if (training) {
    auto s = std::make_shared<CpuLrnSaved>();
    s->plan = std::move(plan);
    s->x = x;
    s->ws = std::move(ws);
    *saved = std::move(s);
  }
  return y;
}

Tensor lrn_backward_cpu(const LrnSaved& saved, const Tensor& dy) {
  const auto& s = static_cast<const CpuLrnSaved&>(saved);
  const LrnPlan& plan = *s.plan;
  const dnnl::engine& eng = cpu::engine();
  Tensor g = cpu::to_desc(dy, plan.src);  // (N, C, H, W)
  Tensor dx = plan.data.empty();
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(plan.src, eng, s.x.raw())},
                                       {DNNL_ARG_DIFF_DST, memory(plan.src, eng, g.raw())},
                                       {DNNL_ARG_DIFF_SRC, memory(plan.src, eng, dx.raw())}};
  if (s.ws.defined()) args.emplace(DNNL_ARG_WORKSPACE, memory(plan.ws, eng, s.ws.raw()));
  plan.bwd.run(std::move(args));
  return dx;
}

}  // namespace

RM_REGISTER_KERNELS(LrnKernels, cpu, {lrn_forward_cpu, lrn_backward_cpu});

}  // namespace ringmaster::ops
