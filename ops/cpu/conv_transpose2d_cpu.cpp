// conv_transpose2d CPU kernels on oneDNN's deconvolution: forward (bias
// fused), backward data, backward weights (with bias). Primitives are made
// once per (shapes, params, training) and cached; activations stay in the
// layouts oneDNN picks (format_tag::any); PyTorch-layout weights (C, O/G, KH,
// KW) are described to oneDNN as iohw / giohw, so no transposing copy is ours.
// No hand-written deconvolution loops: the oracle is ops/reference/.
#include <unordered_map>

#include "ops/conv_transpose2d.h"
#include "ops/cpu/bias_gradient.h"
#include "ops/cpu/dnnl_plan.h"
#include "ops/cpu/memory_format.h"
#include "ops/cpu/primitive_cache.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using cpu::Layout;
using cpu::Primitive;
using cpu::Reorder;

// Everything about one transposed convolution that does not change per call.
struct DeconvPlan {
  bool has_bias = false;
  Shape w_shape;      // (C, O/G, KH, KW), the parameter's plain shape
  memory::desc b_md;  // (O) plain

  dnnl::deconvolution_forward::primitive_desc fwd_pd;
  Primitive fwd;
  memory::desc src;  // what fwd reads x as
  Layout dst;        // y: (N, O, OH, OW)
  Reorder w_to_fwd;  // plain weights -> fwd weights layout

  // Training plans only.
  dnnl::deconvolution_backward_data::primitive_desc bwd_data_pd;
  Primitive bwd_data;
  Layout dx;             // (N, C, H, W)
  Reorder w_fwd_to_bwd;  // fwd weights layout -> bwd-data weights layout
  dnnl::deconvolution_backward_weights::primitive_desc bwd_w_pd;
  Primitive bwd_w;
  Layout dw_buf;        // bwd-weights diff_weights layout
  Reorder dw_to_plain;  // -> plain (C, O/G, KH, KW)
};

DeconvPlan make_plan(const Shape& x_shape, const Shape& w_shape, bool has_bias,
                     const ConvTranspose2dParams& p, const Shape& y_shape, bool training) {
  DeconvPlan plan;
  plan.has_bias = has_bias;
  plan.w_shape = w_shape;
  const int64_t g = p.groups, c = w_shape[0], o = y_shape[1];
  // oneDNN's deconvolution weights dims: (O, C, KH, KW), or (G, O/G, C/G, KH,
  // KW) with groups. Our bytes are (C, O/G, KH, KW) = (G, C/G, O/G, KH, KW)
  // row-major, which is oneDNN's iohw / giohw.
  const Shape w_dnnl =
      g == 1 ? Shape{o, c, w_shape[2], w_shape[3]} : Shape{g, o / g, c / g, w_shape[2], w_shape[3]};
  const memory::desc w_plain(cpu::dims_of(w_dnnl), memory::data_type::f32,
                             g == 1 ? Tag::iohw : Tag::giohw);
  plan.b_md = cpu::plain_desc({o}, DType::f32);
  const memory::desc b_any = has_bias ? plan.b_md : memory::desc();

  const auto f32 = memory::data_type::f32;
  const memory::desc src_any(cpu::dims_of(x_shape), f32, Tag::any);
  const memory::desc w_any(cpu::dims_of(w_dnnl), f32, Tag::any);
  const memory::desc dst_any(cpu::dims_of(y_shape), f32, Tag::any);
  const memory::dims strides{p.stride[0], p.stride[1]};
  const memory::dims dilates{p.dilation[0] - 1, p.dilation[1] - 1};  // oneDNN: 0 = none
  const memory::dims pad_l{p.padding_begin[0], p.padding_begin[1]};
  // output_padding (< stride) needs no padding of its own: oneDNN checks
  // (OH + pad_l + pad_r - span) / stride + 1 == H with floor division.
  const memory::dims pad_r{p.padding_end[0], p.padding_end[1]};
  const auto alg = dnnl::algorithm::deconvolution_direct;
  const dnnl::primitive_attr shared = cpu::shared_attr();

  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  dnnl::deconvolution_forward::desc fwd_d(prop, alg, src_any, w_any, b_any, dst_any, strides,
                                          dilates, pad_l, pad_r);
  plan.fwd_pd = dnnl::deconvolution_forward::primitive_desc(fwd_d, shared, cpu::engine());
  plan.fwd = Primitive(plan.fwd_pd);
  plan.src = plan.fwd_pd.src_desc();
  plan.dst = Layout(y_shape, plan.fwd_pd.dst_desc());
  plan.w_to_fwd = Reorder(w_plain, Layout(w_dnnl, plan.fwd_pd.weights_desc()));
  if (!training) return plan;

  dnnl::deconvolution_backward_data::desc bwd_data_d(alg, src_any, w_any, dst_any, strides, dilates,
                                                     pad_l, pad_r);
  plan.bwd_data_pd = dnnl::deconvolution_backward_data::primitive_desc(bwd_data_d, shared,
                                                                       cpu::engine(), plan.fwd_pd);
  plan.bwd_data = Primitive(plan.bwd_data_pd);
  plan.dx = Layout(x_shape, plan.bwd_data_pd.diff_src_desc());
  plan.w_fwd_to_bwd =
      Reorder(plan.fwd_pd.weights_desc(), Layout(w_dnnl, plan.bwd_data_pd.weights_desc()));

  dnnl::deconvolution_backward_weights::desc bwd_w_d(alg, src_any, w_any, b_any, dst_any, strides,
                                                     dilates, pad_l, pad_r);
  plan.bwd_w_pd = dnnl::deconvolution_backward_weights::primitive_desc(bwd_w_d, shared,
                                                                       cpu::engine(), plan.fwd_pd);
  plan.bwd_w = Primitive(plan.bwd_w_pd);
  plan.dw_buf = Layout(w_dnnl, plan.bwd_w_pd.diff_weights_desc());
  plan.dw_to_plain = Reorder(plan.dw_buf.desc, Layout(w_dnnl, w_plain));
  return plan;
}

std::shared_ptr<const DeconvPlan> plan_for(const Shape& x_shape, const Shape& w_shape,
                                           bool has_bias, const ConvTranspose2dParams& p,
                                           const Shape& y_shape, bool training) {
  static cpu::PrimitiveCache<DeconvPlan> cache;
  cpu::CacheKey key;
  for (int64_t v : x_shape) key.add(v);
  for (int64_t v : w_shape) key.add(v);
  for (int i = 0; i < 2; ++i) {
    key.add(p.stride[i]).add(p.padding_begin[i]).add(p.padding_end[i]);
    key.add(p.output_padding[i]).add(p.dilation[i]);
  }
  key.add(p.groups).add(has_bias).add(training);
  return cache.get(key,
                   [&] { return make_plan(x_shape, w_shape, has_bias, p, y_shape, training); });
}

struct CpuDeconvSaved : ConvTranspose2dSaved {
  std::shared_ptr<const DeconvPlan> plan;
  Tensor x;  // (N, C, H, W) in plan->src
  Tensor w;  // weights in the fwd weights layout
};

Tensor deconv_forward_cpu(const Tensor& x, const Tensor& w, const Tensor& b,
                          const ConvTranspose2dParams& p, const Shape& y_shape,
                          std::shared_ptr<ConvTranspose2dSaved>* saved) {
  std::shared_ptr<const DeconvPlan> plan =
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
    auto s = std::make_shared<CpuDeconvSaved>();
    s->plan = std::move(plan);
    s->x = std::move(x_used);
    s->w = std::move(w_used);
    *saved = std::move(s);
  }
  return y;
}

void deconv_backward_cpu(const ConvTranspose2dSaved& saved, const Tensor& dy, Tensor* dx,
                         Tensor* dw, Tensor* db) {
  const auto& s = static_cast<const CpuDeconvSaved&>(saved);
  const DeconvPlan& plan = *s.plan;
  const dnnl::engine& eng = cpu::engine();
  if (dx != nullptr) {
    const memory::desc& g_md = plan.bwd_data_pd.diff_dst_desc();
    Tensor g = cpu::to_desc(dy, g_md);  // (N, O, OH, OW)
    Tensor w_d = plan.w_fwd_to_bwd(s.w);
    *dx = plan.dx.empty();
    plan.bwd_data.run({{DNNL_ARG_DIFF_DST, memory(g_md, eng, g.raw())},
                       {DNNL_ARG_WEIGHTS, memory(plan.w_fwd_to_bwd.to.desc, eng, w_d.raw())},
                       {DNNL_ARG_DIFF_SRC, memory(plan.dx.desc, eng, dx->raw())}});
  }
  if (dw == nullptr && db != nullptr) {  // frozen weights, trained bias
    *db = cpu::bias_gradient(dy);
    return;
  }
  if (dw != nullptr) {
    const memory::desc& g_md = plan.bwd_w_pd.diff_dst_desc();
    const memory::desc& x_md = plan.bwd_w_pd.src_desc();
    Tensor g = cpu::to_desc(dy, g_md);
    Tensor x_w = cpu::to_desc(s.x, x_md);
    // (C, O/G, KH, KW): written in place when oneDNN's layout is ours.
    Tensor dw_plain = Tensor::empty(plan.w_shape);
    Tensor dw_raw = plan.dw_to_plain.needed ? plan.dw_buf.empty() : dw_plain;
    Tensor db_t = plan.has_bias ? Tensor::empty({plan.b_md.dims()[0]}) : Tensor();  // (O)
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, memory(x_md, eng, x_w.raw())},
        {DNNL_ARG_DIFF_DST, memory(g_md, eng, g.raw())},
        {DNNL_ARG_DIFF_WEIGHTS, memory(plan.dw_buf.desc, eng, dw_raw.raw())}};
    if (plan.has_bias) args.emplace(DNNL_ARG_DIFF_BIAS, memory(plan.b_md, eng, db_t.raw()));
    plan.bwd_w.run(std::move(args));
    if (plan.dw_to_plain.needed) plan.dw_to_plain.into(dw_raw, dw_plain);
    *dw = dw_plain;
    if (db != nullptr) *db = db_t;
  }
}

}  // namespace

RM_REGISTER_KERNELS(ConvTranspose2dKernels, cpu, {deconv_forward_cpu, deconv_backward_cpu});

}  // namespace ringmaster::ops
