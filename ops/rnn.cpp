// rnn_layer: device-independent part (checks, zeros for absent inputs,
// autograd). Kernels: cpu/rnn_cpu.cpp (oneDNN), cuda/rnn.cu (cuDNN).
//
// A graph node has one output, and y, h_n and c_n are all differentiable:
// the kernel's outputs are packed into one flat tensor, the node that
// records the kernel's backward, and y, h_n and c_n are slices of it (whose
// own backward scatters each gradient into its part, zeros elsewhere).
#include "ops/rnn.h"

#include "ops/autograd.h"
#include "ops/concat.h"
#include "ops/kernel_registry.h"
#include "ops/reshape.h"
#include "ops/slice.h"

namespace ringmaster::ops {
namespace {

Tensor or_zeros(const Tensor& t, const Shape& shape, Device device) {
  return t.defined() ? t.to_plain() : Tensor::zeros(shape, DType::f32, device);
}

// Elements [offset, offset + numel(shape)) of a flat tensor, as `shape`.
Tensor unpacked(const Tensor& flat, int64_t offset, const Shape& shape) {
  return slice(flat, 0, offset, offset + shape_numel(shape)).reshape(shape);
}

void check_shapes(const RnnParams& p, const Tensor& x, const Tensor& h0, const Tensor& c0,
                  const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  const int64_t G = rnn_gate_count(p.cell);
  RM_CHECK(x.dtype() == DType::f32 && x.ndim() == 3, "rnn: x must be (T, N, I) f32, got ",
           to_string(x));
  RM_CHECK(w_ih.defined() && w_ih.ndim() == 3 && (w_ih.dim(0) == 1 || w_ih.dim(0) == 2) &&
               w_ih.dim(1) % G == 0 && w_ih.dim(1) > 0 && w_ih.dim(2) == x.dim(2),
           "rnn: w_ih must be (D, ", G, "*H, ", x.dim(2), ") with D 1 or 2, got ", to_string(w_ih));
  const int64_t D = w_ih.dim(0), H = w_ih.dim(1) / G, N = x.dim(1);
  RM_CHECK(w_hh.defined() && w_hh.shape() == Shape({D, G * H, H}), "rnn: w_hh must be (", D, ", ",
           G * H, ", ", H, "), got ", to_string(w_hh));
  for (const Tensor* b : {&b_ih, &b_hh})
    RM_CHECK(!b->defined() || b->shape() == Shape({D, G * H}), "rnn: a bias must be (", D, ", ",
             G * H, "), got ", to_string(*b));
  RM_CHECK(!h0.defined() || h0.shape() == Shape({D, N, H}), "rnn: h0 must be (", D, ", ", N, ", ",
           H, "), got ", to_string(h0));
  RM_CHECK(!c0.defined() || (p.cell == RnnCell::kLstm && c0.shape() == Shape({D, N, H})),
           "rnn: c0 is the LSTM's, (", D, ", ", N, ", ", H, "), got ", to_string(c0));
  for (const Tensor* t : {&x, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh})
    RM_CHECK(!t->defined() || (t->dtype() == DType::f32 && t->device() == x.device()),
             "rnn: every tensor must be f32 on ", x.device().str(), ", got ", to_string(*t));
}

}  // namespace

int64_t rnn_gate_count(RnnCell cell) {
  switch (cell) {
    case RnnCell::kTanh:
      return 1;
    case RnnCell::kLstm:
      return 4;
    case RnnCell::kGru:
      return 3;
  }
  return 1;
}

RnnOutputs rnn_layer(const RnnParams& p, const Tensor& x, const Tensor& h0, const Tensor& c0,
                     const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh) {
  check_shapes(p, x, h0, c0, w_ih, w_hh, b_ih, b_hh);
  const int64_t T = x.dim(0), N = x.dim(1), D = w_ih.dim(0);
  const int64_t H = w_ih.dim(1) / rnn_gate_count(p.cell), GH = w_ih.dim(1);
  const bool lstm = p.cell == RnnCell::kLstm;
  // Lengths come from data: an error, not an abort.
  RM_THROW_IF(!p.lengths.empty() && static_cast<int64_t>(p.lengths.size()) != N,
              "rnn: ", p.lengths.size(), " lengths for a batch of ", N);
  for (size_t i = 0; i < p.lengths.size(); ++i)
    RM_THROW_IF(p.lengths[i] < 1 || p.lengths[i] > T, "rnn: sample ", i, " has length ",
                p.lengths[i], ", outside [1, ", T, "]");
  const auto& k = KernelTable<RnnKernels>::get().on(x.device(), "rnn");
  const Device dev = x.device();
  RnnInputs in{x.to_plain(),
               or_zeros(h0, {D, N, H}, dev),
               lstm ? or_zeros(c0, {D, N, H}, dev) : Tensor(),
               w_ih.to_plain(),
               w_hh.to_plain(),
               or_zeros(b_ih, {D, GH}, dev),
               or_zeros(b_hh, {D, GH}, dev)};
  Tensor y = Tensor::empty({T, N, D * H}, DType::f32, dev);
  Tensor h_n = Tensor::empty({D, N, H}, DType::f32, dev);
  Tensor c_n = lstm ? Tensor::empty({D, N, H}, DType::f32, dev) : Tensor();
  const bool grad = needs_grad({&x, &h0, &c0, &w_ih, &w_hh, &b_ih, &b_hh});
  std::shared_ptr<RnnSaved> saved;
  k.forward(p, in, y, h_n, c_n, grad ? &saved : nullptr);
  if (!grad) return {y, h_n, c_n};

  std::vector<Tensor> parts = {y.reshape({y.numel()}), h_n.reshape({h_n.numel()})};
  if (lstm) parts.push_back(c_n.reshape({c_n.numel()}));
  const std::vector<bool> given = {true, h0.defined(),   c0.defined(),  true,
                                   true, b_ih.defined(), b_hh.defined()};
  Tensor packed = record(
      concat(parts, 0),
      backward_node(
          "RnnBackward",
          [saved, T, N, D, H, lstm, given,
           device = x.device()](const Tensor& dpacked) -> std::vector<Tensor> {
            const Tensor flat = dpacked.to_plain();
            const int64_t ny = T * N * D * H, ns = D * N * H;
            const Tensor dy = unpacked(flat, 0, {T, N, D * H});
            const Tensor dh = unpacked(flat, ny, {D, N, H});
            const Tensor dc = lstm ? unpacked(flat, ny + ns, {D, N, H}) : Tensor();
            RnnInputs g =
                KernelTable<RnnKernels>::get().on(device, "rnn").backward(*saved, dy, dh, dc);
            std::vector<Tensor> out = {g.x, g.h0, g.c0, g.w_ih, g.w_hh, g.b_ih, g.b_hh};
            for (size_t i = 0; i < out.size(); ++i)
              if (!given[i]) out[i] = Tensor();
            return out;
          }),
      {x, h0, c0, w_ih, w_hh, b_ih, b_hh});
  const int64_t ny = T * N * D * H, ns = D * N * H;
  RnnOutputs out;
  out.y = reshape(slice(packed, 0, 0, ny), {T, N, D * H});
  out.h_n = reshape(slice(packed, 0, ny, ny + ns), {D, N, H});
  if (lstm) out.c_n = reshape(slice(packed, 0, ny + ns, ny + 2 * ns), {D, N, H});
  return out;
}

}  // namespace ringmaster::ops
