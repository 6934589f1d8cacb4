// The random inputs of an rnn_layer test case, shared by the CPU and CUDA
// tests: x (T, N, I), h0 and c0 (D, N, H; undefined unless `states`, c0 only
// for the LSTM), w_ih, w_hh in [-0.6, 0.6] (a tanh that does not saturate),
// b_ih, b_hh; in rnn_layer's argument order.
#pragma once

#include <vector>

#include "op_test_util.h"
#include "ops/rnn.h"

namespace ringmaster::ops::testing {

inline std::vector<Tensor> rnn_inputs(RnnCell cell, int64_t D, int64_t T, int64_t N, int64_t I,
                                      int64_t H, bool states) {
  const int64_t G = rnn_gate_count(cell);
  const bool lstm = cell == RnnCell::kLstm;
  return {random_tensor({T, N, I}),
          states ? random_tensor({D, N, H}) : Tensor(),
          states && lstm ? random_tensor({D, N, H}) : Tensor(),
          random_tensor({D, G * H, I}, -0.6f, 0.6f),
          random_tensor({D, G * H, H}, -0.6f, 0.6f),
          random_tensor({D, G * H}),
          random_tensor({D, G * H})};
}

}  // namespace ringmaster::ops::testing
