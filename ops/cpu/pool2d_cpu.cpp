// Pooling CPU kernels on oneDNN (pooling_v2: max with dilation, average with
// or without padding counted). Primitives are made once per (shapes, params,
// training, input layout) and cached; y keeps the layout oneDNN pairs with
// x's, dx is in x's layout. ceil_mode becomes extra end padding. No pooling
// loops of our own except the (1, 1, OH, OW) divisor fix-up table below.
#include <algorithm>
#include <array>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "ops/cpu/dnnl_plan.h"
#include "ops/cpu/memory_format.h"
#include "ops/kernel_registry.h"
#include "ops/pool2d.h"

namespace ringmaster::ops {
namespace {

using cpu::Layout;
using cpu::Primitive;
using dnnl::memory;

// Everything about one pooling that does not change from call to call.
struct PoolPlan {
  memory::desc src;  // x: (N, C, H, W), as the caller stores it
  Layout dx;         // the same layout, for dx
  Layout dst;        // y: (N, C, OH, OW)
  dnnl::pooling_v2_forward::primitive_desc fwd_pd;
  Primitive fwd;
  memory::desc ws;  // max-pool training workspace; zero desc otherwise
  // count_include_pad with ceil_mode: oneDNN divides every window by KH*KW,
  // PyTorch by the window clipped to the padded input (the extra ceil
  // padding does not count). y and dy are multiplied by scale (1, 1, OH, OW).
  bool rescale = false;
  Tensor scale;
  memory::desc scale_md;
  Primitive mul;  // dst layout * scale -> dst layout
  // Training plans only.
  Primitive bwd;
};

constexpr size_t kKeyLen = 20;
using PoolKey = std::array<int64_t, kKeyLen>;

// How many window rows (or columns) of output index i lie inside the padded
// input [-pad_begin, in + pad_end): PyTorch's count_include_pad divisor.
int64_t clipped_extent(int64_t i, int64_t in, int64_t k, int64_t s, int64_t pb, int64_t pe) {
  const int64_t start = i * s - pb;
  return std::min(start + k, in + pe) - start;
}

std::shared_ptr<PoolPlan> make_plan(const memory::desc& src, const Shape& x_shape, PoolKind kind,
                                    const Pool2dParams& p, const Shape& y_shape, bool training) {
  auto plan = std::make_shared<PoolPlan>();
  plan->src = src;
  plan->dx = Layout(x_shape, src);
  memory::dims pad_r(2);
  bool extra = false;
  for (int i = 0; i < 2; ++i) {
    // ceil_mode: pad the end so that oneDNN produces exactly y_shape.
    const int64_t span = p.dilation[i] * (p.kernel[i] - 1) + 1;
    const int64_t need = (y_shape[2 + i] - 1) * p.stride[i] + span -
                         (x_shape[2 + i] + p.padding_begin[i] + p.padding_end[i]);
    pad_r[i] = p.padding_end[i] + std::max<int64_t>(need, 0);
    extra = extra || need > 0;
  }
  const dnnl::algorithm alg = kind == PoolKind::max ? dnnl::algorithm::pooling_max
                              : p.count_include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                                    : dnnl::algorithm::pooling_avg_exclude_padding;
  const memory::dims strides{p.stride[0], p.stride[1]};
  const memory::dims kernel{p.kernel[0], p.kernel[1]};
  const memory::dims dilation{p.dilation[0] - 1, p.dilation[1] - 1};  // oneDNN: 0 = none
  const memory::dims pad_l{p.padding_begin[0], p.padding_begin[1]};
  const memory::desc dst_any(cpu::dims_of(y_shape), memory::data_type::f32,
                             memory::format_tag::any);
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::pooling_v2_forward::desc fwd_d(prop, alg, src, dst_any, strides, kernel, dilation, pad_l,
                                       pad_r);
  const dnnl::primitive_attr shared = cpu::shared_attr();
  plan->fwd_pd = dnnl::pooling_v2_forward::primitive_desc(fwd_d, shared, cpu::engine());
  plan->fwd = Primitive(plan->fwd_pd);
  plan->dst = Layout(y_shape, plan->fwd_pd.dst_desc());
  if (training) plan->ws = plan->fwd_pd.workspace_desc();

  if (kind == PoolKind::avg && p.count_include_pad && extra) {
    const int64_t oh = y_shape[2], ow = y_shape[3];
    plan->rescale = true;
    plan->scale = Tensor::empty({1, 1, oh, ow});
    float* sc = plan->scale.data<float>();
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t rows = clipped_extent(i, x_shape[2], p.kernel[0], p.stride[0],
                                          p.padding_begin[0], p.padding_end[0]);
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t cols = clipped_extent(j, x_shape[3], p.kernel[1], p.stride[1],
                                            p.padding_begin[1], p.padding_end[1]);
        sc[i * ow + j] = static_cast<float>(static_cast<double>(p.kernel[0] * p.kernel[1]) /
                                            static_cast<double>(rows * cols));
      }
    }
    plan->scale_md = cpu::plain_desc(plan->scale.shape(), DType::f32);
    dnnl::binary::desc mul_d(dnnl::algorithm::binary_mul, plan->dst.desc, plan->scale_md,
                             plan->dst.desc);
    plan->mul = Primitive(dnnl::binary::primitive_desc(mul_d, shared, cpu::engine()));
  }
  if (!training) return plan;

  dnnl::pooling_v2_backward::desc bwd_d(alg, src, plan->dst.desc, strides, kernel, dilation, pad_l,
                                        pad_r);
  plan->bwd = Primitive(
      dnnl::pooling_v2_backward::primitive_desc(bwd_d, shared, cpu::engine(), plan->fwd_pd));
  return plan;
}

// The cached plan for these shapes, params and input layout.
std::shared_ptr<PoolPlan> plan_for(const Tensor& x, PoolKind kind, const Pool2dParams& p,
                                   const Shape& y_shape, bool training) {
  const Shape& xs = x.shape();
  const PoolKey key{xs[0],
                    xs[1],
                    xs[2],
                    xs[3],
                    y_shape[2],
                    y_shape[3],
                    static_cast<int64_t>(kind),
                    p.count_include_pad,
                    p.kernel[0],
                    p.kernel[1],
                    p.stride[0],
                    p.stride[1],
                    p.padding_begin[0],
                    p.padding_begin[1],
                    p.padding_end[0],
                    p.padding_end[1],
                    p.dilation[0],
                    p.dilation[1],
                    p.ceil_mode,
                    training};
  const memory::desc src = cpu::desc_of(x);
  static std::mutex mu;
  static std::unordered_map<PoolKey, std::vector<std::shared_ptr<PoolPlan>>, cpu::IntArrayHash>
      cache;
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::shared_ptr<PoolPlan>>& plans = cache[key];  // one per input layout
  for (const auto& plan : plans) {
    if (plan->src == src) return plan;
  }
  plans.push_back(make_plan(src, xs, kind, p, y_shape, training));
  return plans.back();
}

struct CpuPool2dSaved : Pool2dSaved {
  std::shared_ptr<PoolPlan> plan;
  Tensor ws;  // max pool: oneDNN's arg-max workspace (bytes)
};

// buf (in plan.dst) *= plan.scale, broadcast over N and C; out may be buf.
void apply_scale(const PoolPlan& plan, const Tensor& buf, const Tensor& out) {
  const dnnl::engine& eng = cpu::engine();
  plan.mul.run({{DNNL_ARG_SRC_0, memory(plan.dst.desc, eng, buf.raw())},
                {DNNL_ARG_SRC_1, memory(plan.scale_md, eng, plan.scale.raw())},
                {DNNL_ARG_DST, memory(plan.dst.desc, eng, out.raw())}});
}

Tensor pool2d_forward_cpu(const Tensor& x, PoolKind kind, const Pool2dParams& p,
                          const Shape& y_shape, std::shared_ptr<Pool2dSaved>* saved) {
  const bool training = saved != nullptr;
  std::shared_ptr<PoolPlan> plan = plan_for(x, kind, p, y_shape, training);
  const dnnl::engine& eng = cpu::engine();
  Tensor y = plan->dst.empty();
  Tensor ws;
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(plan->src, eng, x.raw())},
                                       {DNNL_ARG_DST, memory(plan->dst.desc, eng, y.raw())}};
  if (plan->ws.get_size() > 0) {
    ws = Tensor::empty({static_cast<int64_t>(plan->ws.get_size())}, DType::u8);
    args.emplace(DNNL_ARG_WORKSPACE, memory(plan->ws, eng, ws.raw()));
  }
  plan->fwd.run(std::move(args));
  if (plan->rescale) apply_scale(*plan, y, y);
  if (training) {
    auto s = std::make_shared<CpuPool2dSaved>();
    s->plan = std::move(plan);
    s->ws = std::move(ws);
    *saved = std::move(s);
  }
  return y;
}

Tensor pool2d_backward_cpu(const Pool2dSaved& saved, const Tensor& dy) {
  const auto& s = static_cast<const CpuPool2dSaved&>(saved);
  const PoolPlan& plan = *s.plan;
  const dnnl::engine& eng = cpu::engine();
  Tensor g = cpu::to_desc(dy, plan.dst.desc);  // (N, C, OH, OW)
  if (plan.rescale) {
    Tensor scaled = plan.dst.empty();
    apply_scale(plan, g, scaled);
    g = scaled;
  }
  Tensor dx = plan.dx.empty();  // (N, C, H, W)
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, memory(plan.dst.desc, eng, g.raw())},
                                       {DNNL_ARG_DIFF_SRC, memory(plan.src, eng, dx.raw())}};
  if (s.ws.defined()) args.emplace(DNNL_ARG_WORKSPACE, memory(plan.ws, eng, s.ws.raw()));
  plan.bwd.run(std::move(args));
  return dx;
}

}  // namespace

RM_REGISTER_KERNELS(Pool2dKernels, cpu, {pool2d_forward_cpu, pool2d_backward_cpu});

}  // namespace ringmaster::ops
