// Recurrent (see recurrent.h): registration in PyTorch's order and names,
// then one ops::rnn_layer per layer.
#include "models/recurrent.h"

#include <cmath>
#include <string>

#include "ops/check.h"
#include "ops/concat.h"
#include "ops/reshape.h"
#include "ops/slice.h"

namespace ringmaster::models {

Recurrent::Recurrent(const RecurrentOptions& o, std::mt19937_64& rng) : options_(o) {
  RM_CHECK(o.input_size > 0 && o.hidden_size > 0 && o.num_layers > 0,
           "recurrent: input_size, hidden_size and num_layers must be positive, got ", o.input_size,
           ", ", o.hidden_size, ", ", o.num_layers);
  RM_CHECK(o.dropout >= 0.0 && o.dropout < 1.0, "recurrent: dropout ", o.dropout, " not in [0, 1)");
  const int64_t D = o.bidirectional ? 2 : 1, H = o.hidden_size;
  const int64_t GH = ops::rnn_gate_count(o.cell) * H;
  const float bound = 1.0f / std::sqrt(static_cast<float>(H));
  const auto draw = [&](const ops::Shape& shape) {
    return ops::Tensor::uniform(shape, rng, -bound, bound);
  };
  for (int64_t k = 0; k < o.num_layers; ++k) {
    Layer layer;
    const int64_t in = k == 0 ? o.input_size : D * H;
    for (int64_t d = 0; d < D; ++d) {
      const std::string suffix = "_l" + std::to_string(k) + (d == 1 ? "_reverse" : "");
      layer.w_ih[d] = register_parameter("weight_ih" + suffix, draw({GH, in}));
      layer.w_hh[d] = register_parameter("weight_hh" + suffix, draw({GH, H}));
      if (o.bias) {
        layer.b_ih[d] = register_parameter("bias_ih" + suffix, draw({GH}));
        layer.b_hh[d] = register_parameter("bias_hh" + suffix, draw({GH}));
      }
    }
    layers_.push_back(layer);
    if (k + 1 < o.num_layers && o.dropout > 0.0)
      dropouts_.push_back(register_module("dropout" + std::to_string(k),
                                          std::make_shared<Dropout>(o.dropout, rng)));
  }
}

ops::Tensor Recurrent::stacked(const ops::Tensor (&per_direction)[2]) const {
  if (!per_direction[0].defined()) return {};
  std::vector<ops::Tensor> parts;
  for (int d = 0; d < (options_.bidirectional ? 2 : 1); ++d) {
    ops::Shape shape = per_direction[d].shape();
    shape.insert(shape.begin(), 1);
    parts.push_back(ops::reshape(per_direction[d], shape));
  }
  return parts.size() == 1 ? parts[0] : ops::concat(parts, 0);
}

ops::Tensor Recurrent::forward(const ops::Tensor& x) { return run(x).y; }

RecurrentOutput Recurrent::run(const ops::Tensor& x, const RecurrentState& initial,
                               const std::vector<int64_t>& lengths) {
  const int64_t D = options_.bidirectional ? 2 : 1, L = options_.num_layers;
  const bool lstm = options_.cell == ops::RnnCell::kLstm;
  RM_CHECK(x.ndim() == 3 && x.dim(2) == options_.input_size, "recurrent: x must be (T, N, ",
           options_.input_size, "), got ", ops::to_string(x));
  const ops::Shape state_shape = {L * D, x.dim(1), options_.hidden_size};
  RM_CHECK(!initial.h.defined() || initial.h.shape() == state_shape,
           "recurrent: the initial h must be ", ops::shape_str(state_shape));
  RM_CHECK(!initial.c.defined() || (lstm && initial.c.shape() == state_shape),
           "recurrent: the initial c is the LSTM's, ", ops::shape_str(state_shape));
  ops::RnnParams p;
  p.cell = options_.cell;
  p.lengths = lengths;
  ops::Tensor input = x;
  std::vector<ops::Tensor> h_n, c_n;
  for (int64_t k = 0; k < L; ++k) {
    const auto layer_state = [&](const ops::Tensor& all) {
      return all.defined() ? ops::slice(all, 0, k * D, (k + 1) * D) : ops::Tensor();
    };
    const Layer& layer = layers_[static_cast<size_t>(k)];
    const ops::RnnOutputs out = ops::rnn_layer(
        p, input, layer_state(initial.h), layer_state(initial.c), stacked(layer.w_ih),
        stacked(layer.w_hh), stacked(layer.b_ih), stacked(layer.b_hh));
    h_n.push_back(out.h_n);
    if (lstm) c_n.push_back(out.c_n);
    input = out.y;
    if (k + 1 < L && !dropouts_.empty()) input = (*dropouts_[static_cast<size_t>(k)])(input);
  }
  RecurrentOutput result;
  result.y = input;
  result.state.h = h_n.size() == 1 ? h_n[0] : ops::concat(h_n, 0);
  if (lstm) result.state.c = c_n.size() == 1 ? c_n[0] : ops::concat(c_n, 0);
  return result;
}

}  // namespace ringmaster::models
