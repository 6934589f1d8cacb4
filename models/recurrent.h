// Recurrent: a stack of recurrent layers (ops::rnn_layer) as PyTorch's
// nn.RNN (tanh), nn.LSTM and nn.GRU build it: num_layers layers, each one or
// two directions, the next layer reading the previous one's output (both
// directions concatenated), dropout between layers in training (not after
// the last). Parameters are named and shaped as PyTorch's, so state dicts
// interchange: weight_ih_l{k} (G*H, in), weight_hh_l{k} (G*H, H),
// bias_ih_l{k}, bias_hh_l{k} (G*H), and the same with a `_reverse` suffix
// for the second direction; all drawn from U(-1/sqrt(H), 1/sqrt(H)) as
// PyTorch does. Layout: x (T, N, I) (time first); states (L*D, N, H).
// GRU uses PyTorch's cell (linear_before_reset).
#pragma once

#include <memory>
#include <random>
#include <vector>

#include "models/layers.h"
#include "models/module.h"
#include "ops/rnn.h"

namespace ringmaster::models {

struct RecurrentOptions {
  ops::RnnCell cell = ops::RnnCell::kLstm;
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bidirectional = false;
  bool bias = true;
  double dropout = 0.0;  // between layers, in training
};

struct RecurrentState {
  ops::Tensor h, c;  // (L*D, N, H); c for the LSTM only; undefined: zeros
};

struct RecurrentOutput {
  ops::Tensor y;  // (T, N, D*H), zero past each sample's length
  RecurrentState state;
};

class Recurrent : public Module {
 public:
  Recurrent(const RecurrentOptions& options, std::mt19937_64& rng);
  // x (T, N, I) -> y, from zero states, every sample T steps.
  ops::Tensor forward(const ops::Tensor& x) override;
  // With initial states and per-sample lengths (each in [1, T]; empty: all T).
  RecurrentOutput run(const ops::Tensor& x, const RecurrentState& initial = {},
                      const std::vector<int64_t>& lengths = {});
  const RecurrentOptions& options() const { return options_; }

 private:
  struct Layer {
    ops::Tensor w_ih[2], w_hh[2], b_ih[2], b_hh[2];  // per direction
  };
  // One direction's tensors, or both stacked on a new first axis.
  ops::Tensor stacked(const ops::Tensor (&per_direction)[2]) const;

  RecurrentOptions options_;
  std::vector<Layer> layers_;
  std::vector<std::shared_ptr<Dropout>> dropouts_;  // between layers
};

}  // namespace ringmaster::models
