// rnn_layer CPU kernels on oneDNN's RNN primitives (vanilla_rnn with tanh,
// lstm, gru, lbr_gru), forward (training keeps oneDNN's workspace) and
// backward, plans cached per (cell, directions, steps, batch, sizes).
//
// Layouts. PyTorch's weights (D, G*H, C) become oneDNN's ldigo (1, D, C, G, H)
// with the gates in oneDNN's order: the LSTM's i, f, g, o and the RNN's one
// gate are the same; the GRU's r, z, n are oneDNN's u (= z), r, o (= n).
// oneDNN adds one bias per gate, so b_ih + b_hh; its linear-before-reset GRU
// keeps b_hn apart as a fourth gate. Backward takes the weights in the layout
// its primitive chose (a cached reorder) and gives plain ldigo gradients.
//
// Lengths. oneDNN runs every sample the same number of steps, so the samples
// are grouped by length and each group runs its own primitive over its own
// steps (the second direction then starts at each sample's last step);
// outputs past a length stay zero. Equal lengths are one group, no copies.
#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>

#include "ops/cpu/dnnl_plan.h"
#include "ops/cpu/memory_format.h"
#include "ops/cpu/primitive_cache.h"
#include "ops/kernel_registry.h"
#include "ops/rnn.h"

namespace ringmaster::ops {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using cpu::Primitive;

// Plans kept per process (least recently used dropped): enough for a run's
// sequence lengths and batch groups, and for beam search's widths.
constexpr size_t kMaxCachedRnnPlans = 256;

memory::desc f32_desc(const memory::dims& d, tag t) { return {d, memory::data_type::f32, t}; }

// The geometry a plan is made for.
struct RnnShape {
  RnnCell cell;
  bool lbr;
  int64_t T, N, I, H, D;
  int64_t gates() const { return rnn_gate_count(cell); }
  bool lbr_gru() const { return cell == RnnCell::kGru && lbr; }
  int64_t bias_gates() const { return lbr_gru() ? 4 : gates(); }
  bool lstm() const { return cell == RnnCell::kLstm; }
};

// oneDNN's gate g is PyTorch's gate torch_gate(g).
int64_t torch_gate(RnnCell cell, int64_t g) {
  if (cell != RnnCell::kGru || g == 2) return g;
  return g == 0 ? 1 : 0;
}

struct RnnPlan {
  memory::desc src_layer, src_iter, w_layer, w_iter, bias, dst_layer, dst_iter, ws;
  Primitive fwd, bwd;
  cpu::Reorder w_layer_bwd, w_iter_bwd;  // plain ldigo -> backward's layouts
};

// Forward and (training) backward primitive descriptors of one cell type.
template <class Fwd, class Bwd, class MakeFwd, class MakeBwd>
void make_primitives(RnnPlan& plan, const RnnShape& s, bool training, MakeFwd make_fwd,
                     MakeBwd make_bwd) {
  const dnnl::primitive_attr attr = cpu::shared_attr();
  const auto prop =
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference;
  typename Fwd::primitive_desc fwd_pd(make_fwd(prop), attr, cpu::engine());
  plan.fwd = Primitive(fwd_pd);
  if (!training) return;
  plan.ws = fwd_pd.workspace_desc();
  typename Bwd::primitive_desc bwd_pd(make_bwd(), attr, cpu::engine(), fwd_pd);
  plan.bwd = Primitive(bwd_pd);
  plan.w_layer_bwd = cpu::Reorder(
      plan.w_layer, cpu::Layout({1, s.D, s.I, s.gates(), s.H}, bwd_pd.weights_layer_desc()));
  plan.w_iter_bwd = cpu::Reorder(
      plan.w_iter, cpu::Layout({1, s.D, s.H, s.gates(), s.H}, bwd_pd.weights_iter_desc()));
}

RnnPlan make_plan(const RnnShape& s, bool training) {
  RnnPlan plan;
  const int64_t G = s.gates();
  plan.src_layer = f32_desc({s.T, s.N, s.I}, tag::tnc);
  plan.src_iter = f32_desc({1, s.D, s.N, s.H}, tag::ldnc);
  plan.w_layer = f32_desc({1, s.D, s.I, G, s.H}, tag::ldigo);
  plan.w_iter = f32_desc({1, s.D, s.H, G, s.H}, tag::ldigo);
  plan.bias = f32_desc({1, s.D, s.bias_gates(), s.H}, tag::ldgo);
  plan.dst_layer = f32_desc({s.T, s.N, s.D * s.H}, tag::tnc);
  plan.dst_iter = plan.src_iter;
  const auto dir = s.D == 1 ? dnnl::rnn_direction::unidirectional_left2right
                            : dnnl::rnn_direction::bidirectional_concat;
  const auto bwd = dnnl::prop_kind::backward;
  // Backward picks its weights layout; the gradients come plain.
  const memory::desc wl_any = f32_desc({1, s.D, s.I, G, s.H}, tag::any);
  const memory::desc wi_any = f32_desc({1, s.D, s.H, G, s.H}, tag::any);
  const RnnPlan& p = plan;
  const memory::desc none;
  switch (s.cell) {
    case RnnCell::kTanh: {
      const auto tanh = dnnl::algorithm::eltwise_tanh;
      make_primitives<dnnl::vanilla_rnn_forward, dnnl::vanilla_rnn_backward>(
          plan, s, training,
          [&](dnnl::prop_kind prop) {
            return dnnl::vanilla_rnn_forward::desc(prop, tanh, dir, p.src_layer, p.src_iter,
                                                   p.w_layer, p.w_iter, p.bias, p.dst_layer,
                                                   p.dst_iter);
          },
          [&] {
            return dnnl::vanilla_rnn_backward::desc(bwd, tanh, dir, p.src_layer, p.src_iter, wl_any,
                                                    wi_any, p.bias, p.dst_layer, p.dst_iter,
                                                    p.src_layer, p.src_iter, p.w_layer, p.w_iter,
                                                    p.bias, p.dst_layer, p.dst_iter);
          });
      break;
    }
    case RnnCell::kLstm:
      make_primitives<dnnl::lstm_forward, dnnl::lstm_backward>(
          plan, s, training,
          [&](dnnl::prop_kind prop) {
            return dnnl::lstm_forward::desc(prop, dir, p.src_layer, p.src_iter, p.src_iter,
                                            p.w_layer, p.w_iter, none, none, p.bias, p.dst_layer,
                                            p.dst_iter, p.dst_iter);
          },
          [&] {
            return dnnl::lstm_backward::desc(
                bwd, dir, p.src_layer, p.src_iter, p.src_iter, wl_any, wi_any, none, none, p.bias,
                p.dst_layer, p.dst_iter, p.dst_iter, p.src_layer, p.src_iter, p.src_iter, p.w_layer,
                p.w_iter, none, none, p.bias, p.dst_layer, p.dst_iter, p.dst_iter);
          });
      break;
    case RnnCell::kGru: {
      const auto fwd_desc = [&](auto tag_type, dnnl::prop_kind prop) {
        using Fwd = typename decltype(tag_type)::type;
        return typename Fwd::desc(prop, dir, p.src_layer, p.src_iter, p.w_layer, p.w_iter, p.bias,
                                  p.dst_layer, p.dst_iter);
      };
      const auto bwd_desc = [&](auto tag_type) {
        using Bwd = typename decltype(tag_type)::type;
        return typename Bwd::desc(bwd, dir, p.src_layer, p.src_iter, wl_any, wi_any, p.bias,
                                  p.dst_layer, p.dst_iter, p.src_layer, p.src_iter, p.w_layer,
                                  p.w_iter, p.bias, p.dst_layer, p.dst_iter);
      };
      if (s.lbr)
        make_primitives<dnnl::lbr_gru_forward, dnnl::lbr_gru_backward>(
            plan, s, training,
            [&](dnnl::prop_kind prop) {
              return fwd_desc(std::type_identity<dnnl::lbr_gru_forward>{}, prop);
            },
            [&] { return bwd_desc(std::type_identity<dnnl::lbr_gru_backward>{}); });
      else
        make_primitives<dnnl::gru_forward, dnnl::gru_backward>(
            plan, s, training,
            [&](dnnl::prop_kind prop) {
              return fwd_desc(std::type_identity<dnnl::gru_forward>{}, prop);
            },
            [&] { return bwd_desc(std::type_identity<dnnl::gru_backward>{}); });
      break;
    }
  }
  return plan;
}

std::shared_ptr<const RnnPlan> plan_for(const RnnShape& s, bool training) {
  // Bounded: every sequence length and batch group is a plan of its own.
  static cpu::PrimitiveCache<RnnPlan> cache(kMaxCachedRnnPlans);
  cpu::CacheKey key;
  key.add(s.cell).add(s.lbr).add(s.T).add(s.N).add(s.I).add(s.H).add(s.D).add(training);
  return cache.get(key, [&] { return make_plan(s, training); });
}

// --- weights and biases between PyTorch's layout and oneDNN's -------------

// w (D, G*H, C) -> ldigo (1, D, C, G, H).
Tensor to_ldigo(const Tensor& w, const RnnShape& s) {
  const int64_t G = s.gates(), H = s.H, C = w.dim(2);
  Tensor out = Tensor::empty({1, s.D, C, G, H});
  const float* src = w.data<float>();
  float* dst = out.data<float>();
  for (int64_t d = 0; d < s.D; ++d)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t g = 0; g < G; ++g) {
        const float* row = src + (d * G * H + torch_gate(s.cell, g) * H) * C + c;
        float* o = dst + ((d * C + c) * G + g) * H;
        for (int64_t h = 0; h < H; ++h) o[h] = row[h * C];
      }
  return out;
}

// The inverse of to_ldigo.
Tensor from_ldigo(const Tensor& wl, const RnnShape& s, int64_t C) {
  const int64_t G = s.gates(), H = s.H;
  Tensor out = Tensor::empty({s.D, G * H, C});
  const float* src = wl.data<float>();
  float* dst = out.data<float>();
  for (int64_t d = 0; d < s.D; ++d)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t g = 0; g < G; ++g) {
        float* row = dst + (d * G * H + torch_gate(s.cell, g) * H) * C + c;
        const float* o = src + ((d * C + c) * G + g) * H;
        for (int64_t h = 0; h < H; ++h) row[h * C] = o[h];
      }
  return out;
}

// b_ih, b_hh (D, G*H) -> ldgo (1, D, Gb, H): one bias per oneDNN gate, the sum
// of both; the linear-before-reset GRU's fourth gate is b_hn alone (and its
// o gate b_in alone).
Tensor to_ldgo(const Tensor& b_ih, const Tensor& b_hh, const RnnShape& s) {
  const int64_t G = s.gates(), Gb = s.bias_gates(), H = s.H;
  Tensor out = Tensor::empty({1, s.D, Gb, H});
  const float *bi = b_ih.data<float>(), *bh = b_hh.data<float>();
  float* dst = out.data<float>();
  for (int64_t d = 0; d < s.D; ++d) {
    for (int64_t g = 0; g < G; ++g) {
      const int64_t at = d * G * H + torch_gate(s.cell, g) * H;
      const bool lbr_n = s.lbr_gru() && g == 2;
      for (int64_t h = 0; h < H; ++h)
        dst[(d * Gb + g) * H + h] = bi[at + h] + (lbr_n ? 0.0f : bh[at + h]);
    }
    if (s.lbr_gru())
      for (int64_t h = 0; h < H; ++h) dst[(d * Gb + 3) * H + h] = bh[d * G * H + 2 * H + h];
  }
  return out;
}

// The gradients of b_ih and b_hh from that of the ldgo bias.
std::pair<Tensor, Tensor> from_ldgo(const Tensor& db, const RnnShape& s) {
  const int64_t G = s.gates(), Gb = s.bias_gates(), H = s.H;
  Tensor bi = Tensor::empty({s.D, G * H}), bh = Tensor::empty({s.D, G * H});
  const float* src = db.data<float>();
  float *gi = bi.data<float>(), *gh = bh.data<float>();
  for (int64_t d = 0; d < s.D; ++d)
    for (int64_t g = 0; g < G; ++g) {
      const int64_t at = d * G * H + torch_gate(s.cell, g) * H;
      const bool lbr_n = s.lbr_gru() && g == 2;
      for (int64_t h = 0; h < H; ++h) {
        gi[at + h] = src[(d * Gb + g) * H + h];
        gh[at + h] = lbr_n ? src[(d * Gb + 3) * H + h] : gi[at + h];
      }
    }
  return {bi, bh};
}

// --- groups of equal length -------------------------------------------------

struct Group {
  std::vector<int64_t> samples;  // ascending
  int64_t steps = 0;
  bool whole = false;  // every sample, every step: the batch's own tensors
  std::shared_ptr<const RnnPlan> plan;
  Tensor x, h0, c0, y, h_n, c_n, ws;  // this group's, as its primitive saw them
};

std::vector<Group> groups_of(const std::vector<int64_t>& lengths, int64_t T, int64_t N) {
  std::map<int64_t, std::vector<int64_t>> by_length;
  for (int64_t n = 0; n < N; ++n) by_length[lengths.empty() ? T : lengths[n]].push_back(n);
  std::vector<Group> out;
  for (auto& [steps, samples] : by_length) {
    Group g;
    g.whole = steps == T && static_cast<int64_t>(samples.size()) == N;
    g.steps = steps;
    g.samples = std::move(samples);
    out.push_back(std::move(g));
  }
  return out;
}

// Rows of a (A, N, C) tensor: out (A', n, C) with out[a][j] = t[a][samples[j]]
// for a < A' (steps), and the scatter back (the rest of `into` untouched).
Tensor gather(const Tensor& t, int64_t A, const std::vector<int64_t>& samples) {
  const int64_t N = t.dim(1), C = t.dim(2), n = static_cast<int64_t>(samples.size());
  Tensor out = Tensor::empty({A, n, C});
  for (int64_t a = 0; a < A; ++a)
    for (int64_t j = 0; j < n; ++j)
      std::memcpy(out.data<float>() + (a * n + j) * C, t.data<float>() + (a * N + samples[j]) * C,
                  C * sizeof(float));
  return out;
}
void scatter(const Tensor& part, const std::vector<int64_t>& samples, const Tensor& into) {
  const int64_t A = part.dim(0), n = part.dim(1), C = part.dim(2), N = into.dim(1);
  for (int64_t a = 0; a < A; ++a)
    for (int64_t j = 0; j < n; ++j)
      std::memcpy(into.data<float>() + (a * N + samples[j]) * C,
                  part.data<float>() + (a * n + j) * C, C * sizeof(float));
}

struct CpuRnnSaved : RnnSaved {
  RnnShape shape;
  Tensor w_layer, w_iter, bias;  // oneDNN layouts (plain ldigo, ldgo)
  std::vector<Group> groups;
};

void run_forward(const RnnPlan& plan, const RnnShape& s, Group& g, const Tensor& wl,
                 const Tensor& wi, const Tensor& b, bool training) {
  const dnnl::engine& eng = cpu::engine();
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC_LAYER, memory(plan.src_layer, eng, g.x.raw())},
      {DNNL_ARG_SRC_ITER, memory(plan.src_iter, eng, g.h0.raw())},
      {DNNL_ARG_WEIGHTS_LAYER, memory(plan.w_layer, eng, wl.raw())},
      {DNNL_ARG_WEIGHTS_ITER, memory(plan.w_iter, eng, wi.raw())},
      {DNNL_ARG_BIAS, memory(plan.bias, eng, b.raw())},
      {DNNL_ARG_DST_LAYER, memory(plan.dst_layer, eng, g.y.raw())},
      {DNNL_ARG_DST_ITER, memory(plan.dst_iter, eng, g.h_n.raw())}};
  if (s.lstm()) {
    args.emplace(DNNL_ARG_SRC_ITER_C, memory(plan.src_iter, eng, g.c0.raw()));
    args.emplace(DNNL_ARG_DST_ITER_C, memory(plan.dst_iter, eng, g.c_n.raw()));
  }
  if (training && plan.ws.get_size() > 0) {
    g.ws = Tensor::empty({static_cast<int64_t>(plan.ws.get_size())}, DType::u8);
    args.emplace(DNNL_ARG_WORKSPACE, memory(plan.ws, eng, g.ws.raw()));
  }
  plan.fwd.run(std::move(args));
}

void rnn_forward_cpu(const RnnParams& p, const RnnInputs& in, const Tensor& y, const Tensor& h_n,
                     const Tensor& c_n, std::shared_ptr<RnnSaved>* saved) {
  const bool training = saved != nullptr;
  const int64_t T = in.x.dim(0), N = in.x.dim(1);
  RnnShape s{p.cell, p.linear_before_reset, T, N, in.x.dim(2), in.w_hh.dim(2), in.w_ih.dim(0)};
  const Tensor wl = to_ldigo(in.w_ih, s), wi = to_ldigo(in.w_hh, s);
  const Tensor b = to_ldgo(in.b_ih, in.b_hh, s);
  std::vector<Group> groups = groups_of(p.lengths, T, N);
  if (groups.size() > 1) cpu::zero(y);  // steps past a length
  for (Group& g : groups) {
    RnnShape gs = s;
    gs.T = g.steps;
    gs.N = static_cast<int64_t>(g.samples.size());
    g.plan = plan_for(gs, training);
    if (g.whole) {
      g.x = in.x, g.h0 = in.h0, g.c0 = in.c0, g.y = y, g.h_n = h_n, g.c_n = c_n;
    } else {
      g.x = gather(in.x, g.steps, g.samples);
      g.h0 = gather(in.h0, s.D, g.samples);
      if (s.lstm()) g.c0 = gather(in.c0, s.D, g.samples);
      g.y = Tensor::empty({g.steps, gs.N, s.D * s.H});
      g.h_n = Tensor::empty({s.D, gs.N, s.H});
      if (s.lstm()) g.c_n = Tensor::empty({s.D, gs.N, s.H});
    }
    run_forward(*g.plan, gs, g, wl, wi, b, training);
    if (!g.whole) {
      scatter(g.y, g.samples, y);
      scatter(g.h_n, g.samples, h_n);
      if (s.lstm()) scatter(g.c_n, g.samples, c_n);
    }
  }
  if (!training) return;
  auto out = std::make_shared<CpuRnnSaved>();
  out->shape = s;
  out->w_layer = wl;
  out->w_iter = wi;
  out->bias = b;
  out->groups = std::move(groups);
  *saved = std::move(out);
}

// Adds b into a (both plain f32 of one size).
void add_into(const Tensor& a, const Tensor& b) {
  float* x = a.data<float>();
  const float* y = b.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i) x[i] += y[i];
}

RnnInputs rnn_backward_cpu(const RnnSaved& saved, const Tensor& dy, const Tensor& dh_n,
                           const Tensor& dc_n) {
  const auto& sv = static_cast<const CpuRnnSaved&>(saved);
  const RnnShape& s = sv.shape;
  const dnnl::engine& eng = cpu::engine();
  Tensor dx = Tensor::zeros({s.T, s.N, s.I});
  Tensor dh0 = Tensor::zeros({s.D, s.N, s.H});
  Tensor dc0 = s.lstm() ? Tensor::zeros({s.D, s.N, s.H}) : Tensor();
  Tensor dwl = Tensor::zeros({1, s.D, s.I, s.gates(), s.H});
  Tensor dwi = Tensor::zeros({1, s.D, s.H, s.gates(), s.H});
  Tensor db = Tensor::zeros({1, s.D, s.bias_gates(), s.H});
  for (const Group& g : sv.groups) {
    const RnnPlan& plan = *g.plan;
    const int64_t n = static_cast<int64_t>(g.samples.size());
    const Tensor gdy = g.whole ? dy : gather(dy, g.steps, g.samples);
    const Tensor gdh = g.whole ? dh_n : gather(dh_n, s.D, g.samples);
    const Tensor gdc = !s.lstm() ? Tensor() : g.whole ? dc_n : gather(dc_n, s.D, g.samples);
    const Tensor gdx = g.whole ? dx : Tensor::empty({g.steps, n, s.I});
    const Tensor gdh0 = g.whole ? dh0 : Tensor::empty({s.D, n, s.H});
    const Tensor gdc0 = !s.lstm() ? Tensor() : g.whole ? dc0 : Tensor::empty({s.D, n, s.H});
    // Gradients of weights and bias per group, summed below: whether oneDNN
    // adds into them or overwrites them, each starts at zero.
    const Tensor gdwl = Tensor::zeros(dwl.shape()), gdwi = Tensor::zeros(dwi.shape());
    const Tensor gdb = Tensor::zeros(db.shape());
    const Tensor wl = plan.w_layer_bwd(sv.w_layer), wi = plan.w_iter_bwd(sv.w_iter);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC_LAYER, memory(plan.src_layer, eng, g.x.raw())},
        {DNNL_ARG_SRC_ITER, memory(plan.src_iter, eng, g.h0.raw())},
        {DNNL_ARG_WEIGHTS_LAYER, memory(plan.w_layer_bwd.to.desc, eng, wl.raw())},
        {DNNL_ARG_WEIGHTS_ITER, memory(plan.w_iter_bwd.to.desc, eng, wi.raw())},
        {DNNL_ARG_BIAS, memory(plan.bias, eng, sv.bias.raw())},
        {DNNL_ARG_DST_LAYER, memory(plan.dst_layer, eng, g.y.raw())},
        {DNNL_ARG_DST_ITER, memory(plan.dst_iter, eng, g.h_n.raw())},
        {DNNL_ARG_DIFF_DST_LAYER, memory(plan.dst_layer, eng, gdy.raw())},
        {DNNL_ARG_DIFF_DST_ITER, memory(plan.dst_iter, eng, gdh.raw())},
        {DNNL_ARG_DIFF_SRC_LAYER, memory(plan.src_layer, eng, gdx.raw())},
        {DNNL_ARG_DIFF_SRC_ITER, memory(plan.src_iter, eng, gdh0.raw())},
        {DNNL_ARG_DIFF_WEIGHTS_LAYER, memory(plan.w_layer, eng, gdwl.raw())},
        {DNNL_ARG_DIFF_WEIGHTS_ITER, memory(plan.w_iter, eng, gdwi.raw())},
        {DNNL_ARG_DIFF_BIAS, memory(plan.bias, eng, gdb.raw())}};
    if (s.lstm()) {
      args.emplace(DNNL_ARG_SRC_ITER_C, memory(plan.src_iter, eng, g.c0.raw()));
      args.emplace(DNNL_ARG_DST_ITER_C, memory(plan.dst_iter, eng, g.c_n.raw()));
      args.emplace(DNNL_ARG_DIFF_DST_ITER_C, memory(plan.dst_iter, eng, gdc.raw()));
      args.emplace(DNNL_ARG_DIFF_SRC_ITER_C, memory(plan.src_iter, eng, gdc0.raw()));
    }
    if (g.ws.defined()) args.emplace(DNNL_ARG_WORKSPACE, memory(plan.ws, eng, g.ws.raw()));
    plan.bwd.run(std::move(args));
    if (!g.whole) {
      scatter(gdx, g.samples, dx);
      scatter(gdh0, g.samples, dh0);
      if (s.lstm()) scatter(gdc0, g.samples, dc0);
    }
    add_into(dwl, gdwl);
    add_into(dwi, gdwi);
    add_into(db, gdb);
  }
  auto [db_ih, db_hh] = from_ldgo(db, s);
  return {dx, dh0, dc0, from_ldigo(dwl, s, s.I), from_ldigo(dwi, s, s.H), db_ih, db_hh};
}

}  // namespace

RM_REGISTER_KERNELS(RnnKernels, cpu, {rnn_forward_cpu, rnn_backward_cpu});

}  // namespace ringmaster::ops
