// Reference recurrent layers: one layer of an Elman RNN (tanh), an LSTM or a
// GRU over a sequence, in one or two directions, with initial states and
// per-sample lengths, accumulated in double. The layout and gate orders are
// PyTorch's (nn.RNN / nn.LSTM / nn.GRU), which the ops follow:
//   x (T, N, I); w_ih (D, G*H, I); w_hh (D, G*H, H); b_ih, b_hh (D, G*H)
//   LSTM gates (G = 4): i, f, g, o     c' = f*c + i*g, h' = o*tanh(c')
//   GRU gates (G = 3): r, z, n         h' = (1-z)*n + z*h, where
//     n = tanh(W_in x + b_in + r*(W_hn h + b_hn))   linear_before_reset
//     n = tanh(W_in x + b_in + W_hn (r*h) + b_hn)   otherwise (ONNX's default)
//   RNN (G = 1): h' = tanh(W_ih x + b_ih + W_hh h + b_hh)
// D = 2: the second direction reads each sample backwards from its last
// step. Outputs: y (T, N, D*H), zero past a sample's length; h_n (and c_n
// for the LSTM) (D, N, H), the state after each direction's last step.
#pragma once

#include <vector>

#include "ops/reference/ref_tensor.h"
#include "ops/rnn.h"

namespace ringmaster::ops::reference {

// RnnCell and rnn_gate_count (G: 1, 4 or 3) are the op's (ops/rnn.h).

struct RnnOutputs {
  RefTensor y, h_n, c_n;  // c_n: LSTM only
};

// h0, c0 (D, N, H) and the biases may be empty (zeros); lengths (N) each in
// [1, T], or empty (every sample T steps).
RnnOutputs rnn(RnnCell cell, const RefTensor& x, const RefTensor& h0, const RefTensor& c0,
               const RefTensor& w_ih, const RefTensor& w_hh, const RefTensor& b_ih,
               const RefTensor& b_hh, const std::vector<int64_t>& lengths,
               bool linear_before_reset = true);

}  // namespace ringmaster::ops::reference
