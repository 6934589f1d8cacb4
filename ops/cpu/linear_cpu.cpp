// linear CPU kernels: oneDNN inner product (forward, backward data, backward
// weights), primitives cached per (x layout, out, bias, relu). x is consumed
// in whatever layout it has (a 4-d blocked conv output included); the weight
// (out, in) is viewed as (out, C, [D,] H, W) to match x's rank and reordered
// to the layout the primitive picks. fuse_relu is an eltwise post-op.
#include <unordered_map>

#include "ops/cpu/memory_format.h"
#include "ops/cpu/primitive_cache.h"
#include "ops/kernel_registry.h"
#include "ops/linear.h"

namespace ringmaster::ops {
namespace {

using dnnl::memory;
using IpFwd = dnnl::inner_product_forward;
using IpBwdData = dnnl::inner_product_backward_data;
using IpBwdWeights = dnnl::inner_product_backward_weights;

// The weight's logical dims as the primitive sees them: (out, d1, ...) with src's rank.
memory::dims weight_dims(const memory::desc& src, int64_t out) {
  memory::dims d = src.dims();
  d[0] = out;
  return d;
}

memory::desc any_desc(const memory::dims& dims) {
  return memory::desc(dims, memory::data_type::f32, memory::format_tag::any);
}

memory::desc bias_desc(int64_t out) { return cpu::plain_desc({out}, DType::f32); }

// y, dy: (N, out) plain.
memory::desc dst_desc(const memory::desc& src, int64_t out) {
  return cpu::plain_desc({src.dims()[0], out}, DType::f32);
}

IpFwd::primitive_desc make_fwd_pd(const memory::desc& src, int64_t out, bool bias, bool relu) {
  const memory::desc w = any_desc(weight_dims(src, out));
  const memory::desc dst = dst_desc(src, out);
  const auto prop = dnnl::prop_kind::forward_training;
  const IpFwd::desc d =
      bias ? IpFwd::desc(prop, src, w, bias_desc(out), dst) : IpFwd::desc(prop, src, w, dst);
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  return IpFwd::primitive_desc(d, attr, cpu::engine());
}

struct FwdEntry {
  IpFwd::primitive_desc pd;
  IpFwd prim;
};
struct BwdDataEntry {
  IpBwdData::primitive_desc pd;
  IpBwdData prim;
};
struct BwdWeightsEntry {
  IpBwdWeights::primitive_desc pd;
  IpBwdWeights prim;
};

// w (out, in) plain, stored as the primitive wants the weight of rank src.ndims.
Tensor weight_as(const Tensor& w, const memory::desc& src, const memory::desc& want) {
  const memory::dims wd = weight_dims(src, w.dim(0));
  return cpu::to_desc(w.reshape(Shape(wd.begin(), wd.end())), want);
}

void execute(const dnnl::primitive& p, const std::unordered_map<int, memory>& args) {
  p.execute(cpu::stream(), args);
  cpu::stream().wait();
}

void linear_forward_cpu(const Tensor& x, const Tensor& w, const Tensor& b, bool fuse_relu,
                        const Tensor& y) {
  static cpu::PrimitiveCache<FwdEntry> cache;
  const memory::desc src = cpu::desc_of(x);
  const int64_t out = w.dim(0);
  cpu::CacheKey key;
  key.add(src).add(out).add(b.defined()).add(fuse_relu);
  auto e = cache.get(key, [&] {
    IpFwd::primitive_desc pd = make_fwd_pd(src, out, b.defined(), fuse_relu);
    return FwdEntry{pd, IpFwd(pd)};
  });
  Tensor wr = weight_as(w, src, e->pd.weights_desc());
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, cpu::memory_of(x)},
      {DNNL_ARG_WEIGHTS, memory(e->pd.weights_desc(), cpu::engine(), wr.raw())},
      {DNNL_ARG_DST, cpu::memory_of(y)}};
  if (b.defined()) args.emplace(DNNL_ARG_BIAS, cpu::memory_of(b));
  execute(e->prim, args);
}

void linear_backward_data_cpu(const Tensor& dy, const Tensor& w, const Tensor& dx) {
  static cpu::PrimitiveCache<BwdDataEntry> cache;
  const memory::desc diff_src = cpu::desc_of(dx);
  const int64_t out = w.dim(0);
  cpu::CacheKey key;
  key.add(diff_src).add(out);
  auto e = cache.get(key, [&] {
    const IpFwd::primitive_desc hint = make_fwd_pd(diff_src, out, false, false);
    const IpBwdData::desc d(diff_src, any_desc(weight_dims(diff_src, out)),
                            dst_desc(diff_src, out));
    IpBwdData::primitive_desc pd(d, cpu::engine(), hint);
    return BwdDataEntry{pd, IpBwdData(pd)};
  });
  Tensor wr = weight_as(w, diff_src, e->pd.weights_desc());
  execute(e->prim, {{DNNL_ARG_DIFF_DST, cpu::memory_of(dy)},
                    {DNNL_ARG_WEIGHTS, memory(e->pd.weights_desc(), cpu::engine(), wr.raw())},
                    {DNNL_ARG_DIFF_SRC, cpu::memory_of(dx)}});
}

void linear_backward_weights_cpu(const Tensor& x, const Tensor& dy, const Tensor& dw,
                                 const Tensor& db) {
  static cpu::PrimitiveCache<BwdWeightsEntry> cache;
  const memory::desc src = cpu::desc_of(x);
  const int64_t out = dw.dim(0);
  cpu::CacheKey key;
  key.add(src).add(out).add(db.defined());
  auto e = cache.get(key, [&] {
    const IpFwd::primitive_desc hint = make_fwd_pd(src, out, db.defined(), false);
    const memory::desc w = any_desc(weight_dims(src, out));
    const memory::desc dst = dst_desc(src, out);
    const IpBwdWeights::desc d = db.defined() ? IpBwdWeights::desc(src, w, bias_desc(out), dst)
                                              : IpBwdWeights::desc(src, w, dst);
    IpBwdWeights::primitive_desc pd(d, cpu::engine(), hint);
    return BwdWeightsEntry{pd, IpBwdWeights(pd)};
  });
  // dw (out, in) viewed with x's rank; written directly when the primitive's
  // layout is that plain one, else through a temporary and a reorder.
  const memory::dims wd = weight_dims(src, out);
  const Shape w_shape(wd.begin(), wd.end());
  const memory::desc plain = cpu::plain_desc(w_shape, DType::f32);
  const memory::desc got = e->pd.diff_weights_desc();
  Tensor tmp = got == plain ? dw : cpu::empty_like_desc(w_shape, DType::f32, got);
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, cpu::memory_of(x)},
      {DNNL_ARG_DIFF_DST, cpu::memory_of(dy)},
      {DNNL_ARG_DIFF_WEIGHTS, memory(got, cpu::engine(), tmp.raw())}};
  if (db.defined()) args.emplace(DNNL_ARG_DIFF_BIAS, cpu::memory_of(db));
  execute(e->prim, args);
  if (!(got == plain)) {
    memory from(got, cpu::engine(), tmp.raw());
    memory to(plain, cpu::engine(), dw.raw());
    dnnl::reorder(from, to).execute(cpu::stream(), from, to);
    cpu::stream().wait();
  }
}

}  // namespace

RM_REGISTER_KERNELS(LinearKernels, cpu,
                    {linear_forward_cpu, linear_backward_data_cpu, linear_backward_weights_cpu});

}  // namespace ringmaster::ops
