// conv2d CPU kernels on oneDNN: forward (bias and relu fused), backward data,
// backward weights (with bias). Primitives are made once per (shapes, params,
// training) and cached; activations stay in the layouts oneDNN picks
// (format_tag::any), weights are reordered from plain OIHW per call. No
// im2col or hand-written conv loops here: the oracle is ops/reference/.
#include <array>
#include <mutex>
#include <unordered_map>

#include "ops/conv2d.h"
#include "ops/cpu/bias_gradient.h"
#include "ops/cpu/dnnl_plan.h"
#include "ops/cpu/memory_format.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using cpu::Layout;
using cpu::Primitive;
using cpu::Reorder;

// Everything about one convolution that does not change from call to call.
struct ConvPlan {
  bool fuse_relu = false;
  bool has_bias = false;
  Shape w_shape;      // (O, C/G, KH, KW), the parameter's plain shape
  memory::desc b_md;  // (O) plain

  dnnl::convolution_forward::primitive_desc fwd_pd;
  Primitive fwd;
  memory::desc src;  // what fwd reads x as
  Layout dst;        // y: (N, O, OH, OW)
  Reorder w_to_fwd;  // plain weights -> fwd weights layout

  // Training plans only.
  dnnl::convolution_backward_data::primitive_desc bwd_data_pd;
  Primitive bwd_data;
  Layout dx;             // (N, C, H, W)
  Reorder w_fwd_to_bwd;  // fwd weights layout -> bwd-data weights layout
  dnnl::convolution_backward_weights::primitive_desc bwd_w_pd;
  Primitive bwd_w;
  Layout dw_buf;        // bwd-weights diff_weights layout
  Reorder dw_to_plain;  // -> plain (O, C/G, KH, KW)
};

constexpr size_t kKeyLen = 19;
using ConvKey = std::array<int64_t, kKeyLen>;

std::shared_ptr<ConvPlan> make_plan(const Shape& x_shape, const Shape& w_shape, bool has_bias,
                                    const Conv2dParams& p, const Shape& y_shape, bool training) {
  auto plan = std::make_shared<ConvPlan>();
  plan->fuse_relu = p.fuse_relu;
  plan->has_bias = has_bias;
  plan->w_shape = w_shape;
  const int64_t g = p.groups, o = w_shape[0];
  // oneDNN's weights dims: (O, C, KH, KW), or (G, O/G, C/G, KH, KW) with groups;
  // the same row-major bytes as our (O, C/G, KH, KW).
  const Shape w_dnnl = g == 1 ? w_shape : Shape{g, o / g, w_shape[1], w_shape[2], w_shape[3]};
  const memory::desc w_plain = cpu::plain_desc(w_dnnl, DType::f32);
  plan->b_md = cpu::plain_desc({o}, DType::f32);
  const memory::desc b_any = has_bias ? plan->b_md : memory::desc();

  const auto f32 = memory::data_type::f32;
  const memory::desc src_any(cpu::dims_of(x_shape), f32, Tag::any);
  const memory::desc w_any(cpu::dims_of(w_dnnl), f32, Tag::any);
  const memory::desc dst_any(cpu::dims_of(y_shape), f32, Tag::any);
  const memory::dims strides{p.stride[0], p.stride[1]};
  const memory::dims dilates{p.dilation[0] - 1, p.dilation[1] - 1};  // oneDNN: 0 = none
  const memory::dims pad_l{p.padding_begin[0], p.padding_begin[1]};
  const memory::dims pad_r{p.padding_end[0], p.padding_end[1]};
  const auto alg = dnnl::algorithm::convolution_direct;

  dnnl::primitive_attr attr = cpu::shared_attr();
  if (p.fuse_relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::convolution_forward::desc fwd_d(prop, alg, src_any, w_any, b_any, dst_any, strides, dilates,
                                        pad_l, pad_r);
  plan->fwd_pd = dnnl::convolution_forward::primitive_desc(fwd_d, attr, cpu::engine());
  plan->fwd = Primitive(plan->fwd_pd);
  plan->src = plan->fwd_pd.src_desc();
  plan->dst = Layout(y_shape, plan->fwd_pd.dst_desc());
  plan->w_to_fwd = Reorder(w_plain, Layout(w_dnnl, plan->fwd_pd.weights_desc()));
  if (!training) return plan;

  const dnnl::primitive_attr shared = cpu::shared_attr();
  dnnl::convolution_backward_data::desc bwd_data_d(alg, src_any, w_any, dst_any, strides, dilates,
                                                   pad_l, pad_r);
  plan->bwd_data_pd = dnnl::convolution_backward_data::primitive_desc(bwd_data_d, shared,
                                                                      cpu::engine(), plan->fwd_pd);
  plan->bwd_data = Primitive(plan->bwd_data_pd);
  plan->dx = Layout(x_shape, plan->bwd_data_pd.diff_src_desc());
  plan->w_fwd_to_bwd =
      Reorder(plan->fwd_pd.weights_desc(), Layout(w_dnnl, plan->bwd_data_pd.weights_desc()));

  dnnl::convolution_backward_weights::desc bwd_w_d(alg, src_any, w_any, b_any, dst_any, strides,
                                                   dilates, pad_l, pad_r);
  plan->bwd_w_pd = dnnl::convolution_backward_weights::primitive_desc(bwd_w_d, shared,
                                                                      cpu::engine(), plan->fwd_pd);
  plan->bwd_w = Primitive(plan->bwd_w_pd);
  plan->dw_buf = Layout(w_dnnl, plan->bwd_w_pd.diff_weights_desc());
  plan->dw_to_plain = Reorder(plan->dw_buf.desc, Layout(w_dnnl, w_plain));
  return plan;
}

// The cached plan for these shapes and params (made on first use).
std::shared_ptr<ConvPlan> plan_for(const Shape& x_shape, const Shape& w_shape, bool has_bias,
                                   const Conv2dParams& p, const Shape& y_shape, bool training) {
  const ConvKey key{
      x_shape[0],         x_shape[1],       x_shape[2],       x_shape[3],    w_shape[0],
      w_shape[2],         w_shape[3],       p.stride[0],      p.stride[1],   p.padding_begin[0],
      p.padding_begin[1], p.padding_end[0], p.padding_end[1], p.dilation[0], p.dilation[1],
      p.groups,           p.fuse_relu,      has_bias,         training};
  static std::mutex mu;
  static std::unordered_map<ConvKey, std::shared_ptr<ConvPlan>, cpu::IntArrayHash> cache;
  std::lock_guard<std::mutex> lock(mu);
  std::shared_ptr<ConvPlan>& slot = cache[key];
  if (!slot) slot = make_plan(x_shape, w_shape, has_bias, p, y_shape, training);
  return slot;
}

struct CpuConv2dSaved : Conv2dSaved {
  std::shared_ptr<ConvPlan> plan;
  Tensor x;  // (N, C, H, W) in plan->src
  Tensor w;  // weights in the fwd weights layout
  Tensor y;  // (N, O, OH, OW) in plan->dst, for fuse_relu only
};

Tensor conv2d_forward_cpu(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p,
                          const Shape& y_shape, std::shared_ptr<Conv2dSaved>* saved) {
  std::shared_ptr<ConvPlan> plan =
      plan_for(x.shape(), w.shape(), b.defined(), p, y_shape, saved != nullptr);
  const dnnl::engine& eng = cpu::engine();
  Tensor x_used = cpu::to_desc(x, plan->src);
  Tensor w_used = plan->w_to_fwd(w);
  Tensor y = plan->dst.empty();
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(plan->src, eng, x_used.raw())},
      {DNNL_ARG_WEIGHTS, memory(plan->w_to_fwd.to.desc, eng, w_used.raw())},
      {DNNL_ARG_DST, memory(plan->dst.desc, eng, y.raw())}};
  if (plan->has_bias) args.emplace(DNNL_ARG_BIAS, memory(plan->b_md, eng, b.raw()));
  plan->fwd.run(std::move(args));
  if (saved != nullptr) {
    auto s = std::make_shared<CpuConv2dSaved>();
    s->plan = std::move(plan);
    s->x = std::move(x_used);
    s->w = std::move(w_used);
    if (s->plan->fuse_relu) s->y = y.detach();
    *saved = std::move(s);
  }
  return y;
}

// dy * (y > 0) over the physical buffers; both are in `layout` (blocked
// padding is zero in y, so it stays zero).
Tensor relu_mask(const Layout& layout, const Tensor& y, const Tensor& dy) {
  Tensor out = layout.empty();
  const float* yv = static_cast<const float*>(y.raw());
  const float* g = static_cast<const float*>(dy.raw());
  float* o = static_cast<float*>(out.raw());
  const int64_t n = static_cast<int64_t>(layout.desc.get_size() / sizeof(float));
  // g[i] loaded whatever y[i] is: GCC then vectorises the select (a compare
  // and a mask); written as `y > 0 ? g : 0` it stayed a scalar loop with a
  // branch per element, 13% of a DeepConvNet training step.
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float gi = g[i];
    o[i] = yv[i] > 0.0f ? gi : 0.0f;
  }
  return out;
}

void conv2d_backward_cpu(const Conv2dSaved& saved, const Tensor& dy, Tensor* dx, Tensor* dw,
                         Tensor* db) {
  const auto& s = static_cast<const CpuConv2dSaved&>(saved);
  const ConvPlan& plan = *s.plan;
  const dnnl::engine& eng = cpu::engine();
  // g: dL/d(conv output before relu), (N, O, OH, OW).
  Tensor g = dy;
  if (plan.fuse_relu) g = relu_mask(plan.dst, s.y, cpu::to_desc(dy, plan.dst.desc));

  if (dx != nullptr) {
    const memory::desc& g_md = plan.bwd_data_pd.diff_dst_desc();
    Tensor g_d = cpu::to_desc(g, g_md);
    Tensor w_d = plan.w_fwd_to_bwd(s.w);
    *dx = plan.dx.empty();
    plan.bwd_data.run({{DNNL_ARG_DIFF_DST, memory(g_md, eng, g_d.raw())},
                       {DNNL_ARG_WEIGHTS, memory(plan.w_fwd_to_bwd.to.desc, eng, w_d.raw())},
                       {DNNL_ARG_DIFF_SRC, memory(plan.dx.desc, eng, dx->raw())}});
  }
  if (dw == nullptr && db != nullptr) {  // frozen weights, trained bias
    *db = cpu::bias_gradient(g);
    return;
  }
  if (dw != nullptr) {
    const memory::desc& g_md = plan.bwd_w_pd.diff_dst_desc();
    const memory::desc& x_md = plan.bwd_w_pd.src_desc();
    Tensor g_w = cpu::to_desc(g, g_md);
    Tensor x_w = cpu::to_desc(s.x, x_md);
    // (O, C/G, KH, KW): written in place when oneDNN's layout is plain.
    Tensor dw_plain = Tensor::empty(plan.w_shape);
    Tensor dw_raw = plan.dw_to_plain.needed ? plan.dw_buf.empty() : dw_plain;
    Tensor db_t = plan.has_bias ? Tensor::empty({plan.w_shape[0]}) : Tensor();  // (O)
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(x_md, eng, x_w.raw())},
        {DNNL_ARG_DIFF_DST, memory(g_md, eng, g_w.raw())},
        {DNNL_ARG_DIFF_WEIGHTS, memory(plan.dw_buf.desc, eng, dw_raw.raw())}};
    if (plan.has_bias) args.emplace(DNNL_ARG_DIFF_BIAS, memory(plan.b_md, eng, db_t.raw()));
    plan.bwd_w.run(std::move(args));
    if (plan.dw_to_plain.needed) plan.dw_to_plain.into(dw_raw, dw_plain);
    *dw = dw_plain;
    if (db != nullptr) *db = db_t;
  }
}

}  // namespace

RM_REGISTER_KERNELS(Conv2dKernels, cpu, {conv2d_forward_cpu, conv2d_backward_cpu});

}  // namespace ringmaster::ops
