// rnn_layer: one layer of an Elman RNN (tanh), an LSTM or a GRU over a
// sequence, in one or two directions, with initial states, final states and
// per-sample lengths. Layout and gate orders are PyTorch's (nn.RNN, nn.LSTM,
// nn.GRU), as in the double-precision oracle ops/reference/rnn.h:
//   x (T, N, I); w_ih (D, G*H, I); w_hh (D, G*H, H); b_ih, b_hh (D, G*H)
//   LSTM gates (G = 4) i, f, g, o; GRU (G = 3) r, z, n; RNN G = 1.
//   GRU: linear_before_reset true is PyTorch's cell (r scales W_hn h + b_hn),
//   false ONNX's default (r scales h before W_hn).
//   y (T, N, D*H), zero past a sample's length; h_n, c_n (D, N, H): the state
//   after each direction's last step (c_n: LSTM only, else undefined).
// The second direction reads each sample backwards from its last step.
// Every output is differentiable; so is every input but the lengths.
// Stack layers (and dropout between them) in models/.
//
// CPU: oneDNN's RNN primitives (vanilla_rnn, lstm, gru, lbr_gru), forward
// and backward, cached per shape. oneDNN has no per-sample lengths, so the
// samples are run in groups of equal length (one primitive run each).
// CUDA: cuDNN's RNN API, every length in one call (cuda/rnn.cu); cuDNN has
// no GRU with linear_before_reset false, so that one is CPU only.
#pragma once

#include <memory>
#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops {

enum class RnnCell { kTanh, kLstm, kGru };

int64_t rnn_gate_count(RnnCell cell);  // G: 1, 4 or 3

struct RnnParams {
  RnnCell cell = RnnCell::kLstm;
  bool linear_before_reset = true;  // GRU only
  // Per sample, each in [1, T]; empty: every sample T steps.
  std::vector<int64_t> lengths;
};

struct RnnOutputs {
  Tensor y, h_n, c_n;
};

// h0, c0 (D, N, H) and the biases may be undefined (zeros).
RnnOutputs rnn_layer(const RnnParams& p, const Tensor& x, const Tensor& h0, const Tensor& c0,
                     const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                     const Tensor& b_hh);

// Backend kernels. Every tensor is plain f32 and defined (zeros stand for
// absent states and biases); c0, c_n and their gradients only for the LSTM.
struct RnnSaved {
  virtual ~RnnSaved() = default;
};
struct RnnInputs {
  Tensor x, h0, c0, w_ih, w_hh, b_ih, b_hh;
};
struct RnnKernels {
  // Writes y, h_n (and c_n); `saved` (training) keeps what backward needs.
  void (*forward)(const RnnParams& p, const RnnInputs& in, const Tensor& y, const Tensor& h_n,
                  const Tensor& c_n, std::shared_ptr<RnnSaved>* saved);
  // The gradients of the RnnInputs' tensors, in their shapes and order.
  RnnInputs (*backward)(const RnnSaved& saved, const Tensor& dy, const Tensor& dh_n,
                        const Tensor& dc_n);
};

}  // namespace ringmaster::ops
