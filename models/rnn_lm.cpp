// rnn_lm (see rnn_lm.h).
#include "models/rnn_lm.h"

#include <algorithm>
#include <cmath>

#include "models/layers.h"
#include "models/time_major.h"
#include "ops/autograd.h"
#include "ops/check.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/reshape.h"

namespace ringmaster::models {

void read_rnn_lm_options(SpecReader& r, RnnLmOptions& o) {
  r.choice(
      "cell", o.cell,
      {{"lstm", ops::RnnCell::kLstm}, {"gru", ops::RnnCell::kGru}, {"rnn", ops::RnnCell::kTanh}});
  r.integer("embedding_size", o.embedding_size, 0, 65536);
  r.integer("hidden_size", o.hidden_size, 1, 65536);
  r.integer("num_layers", o.num_layers, 1, 16);
  r.number("dropout", o.dropout, 0.0, 0.95);
  r.boolean("tie_weights", o.tie_weights);
  if (o.tie_weights && o.embedding_size != 0 && o.embedding_size != o.hidden_size)
    r.problem("tie_weights", "needs embedding_size equal to hidden_size (" +
                                 std::to_string(o.hidden_size) + "), got " +
                                 std::to_string(o.embedding_size));
}

std::shared_ptr<Module> make_rnn_lm(const RnnLmOptions& o, const ModelConfig& cfg,
                                    std::mt19937_64& rng) {
  return std::make_shared<RnnLm>(o, cfg.num_classes, rng);
}

RnnLm::RnnLm(const RnnLmOptions& o, int64_t vocab_size, std::mt19937_64& rng)
    : options_(o), vocab_(vocab_size) {
  RM_THROW_IF(vocab_size < 2, "rnn_lm: a vocabulary of ", vocab_size,
              " tokens (the data set has no text?)");
  const int64_t d = o.embedding_size > 0 ? o.embedding_size : o.hidden_size;
  RM_THROW_IF(o.tie_weights && d != o.hidden_size,
              "rnn_lm: tie_weights needs embedding_size equal to hidden_size");
  auto embedding = register_module("embedding", std::make_shared<ParameterHolder>());
  embedding_ =
      embedding->register_parameter("weight", ops::Tensor::uniform({vocab_, d}, rng, -0.1f, 0.1f));
  drop_in_ = register_module("drop_in", std::make_shared<Dropout>(o.dropout, rng));
  RecurrentOptions ro;
  ro.cell = o.cell;
  ro.input_size = d;
  ro.hidden_size = o.hidden_size;
  ro.num_layers = o.num_layers;
  ro.dropout = o.dropout;
  rnn_ = register_module("rnn", std::make_shared<Recurrent>(ro, rng));
  drop_out_ = register_module("drop_out", std::make_shared<Dropout>(o.dropout, rng));
  auto decoder = register_module("decoder", std::make_shared<ParameterHolder>());
  decoder_weight_ =
      o.tie_weights
          ? embedding_
          : decoder->register_parameter(
                "weight", ops::Tensor::uniform({vocab_, o.hidden_size}, rng, -0.1f, 0.1f));
  decoder_bias_ = decoder->register_parameter("bias", ops::Tensor::zeros({vocab_}));
}

std::pair<ops::Tensor, RecurrentState> RnnLm::run(const ops::Tensor& time_major,
                                                  const RecurrentState& state) {
  RM_CHECK(time_major.ndim() == 2 && time_major.numel() > 0, "rnn_lm: ids must be (T, N), got ",
           ops::to_string(time_major));
  const int64_t t = time_major.dim(0), n = time_major.dim(1);
  const ops::Tensor x = drop_in_->forward(ops::embedding(embedding_, time_major.to(device())));
  RecurrentOutput out = rnn_->run(x, state);
  const ops::Tensor y = drop_out_->forward(out.y);
  const ops::Tensor flat = ops::reshape(y, {t * n, options_.hidden_size});
  ops::Tensor logits = ops::linear(flat, decoder_weight_, decoder_bias_);
  return {ops::reshape(logits, {t, n, vocab_}), out.state};
}

ops::Tensor RnnLm::forward(const ops::Tensor& tokens) {
  RM_THROW_IF(
      !tokens.defined() || tokens.ndim() != 2 || tokens.dtype() != ops::DType::i64,
      "rnn_lm reads token ids (N, T) i64; got ",
      tokens.defined() ? ops::to_string(tokens) : std::string("no tokens (an image data set?)"));
  return run(time_major_tokens(tokens), {}).first;
}

std::vector<int64_t> RnnLm::sample(const std::vector<int64_t>& prompt, int64_t length,
                                   double temperature, std::mt19937_64& rng) {
  RM_THROW_IF(prompt.empty(), "rnn_lm: sampling needs a prompt of at least one token");
  RM_THROW_IF(!(temperature >= 0.0), "rnn_lm: temperature must be >= 0, got ", temperature);
  const bool was_training = is_training();
  train(false);
  ops::NoGradGuard no_grad;
  // One sequence: the ids as a (T, 1) column.
  const auto column = [](const std::vector<int64_t>& ids) {
    ops::Tensor c = ops::Tensor::empty({static_cast<int64_t>(ids.size()), 1}, ops::DType::i64);
    std::copy(ids.begin(), ids.end(), c.data<int64_t>());
    return c;
  };
  auto [logits, state] = run(column(prompt), {});
  std::vector<int64_t> out;
  for (int64_t k = 0; k < length; ++k) {
    const ops::Tensor last = logits.to(ops::Device::cpu()).to_plain();
    const float* z = last.data<float>() + (last.dim(0) - 1) * vocab_;
    int64_t next = std::max_element(z, z + vocab_) - z;
    if (temperature > 0.0) {
      std::vector<double> w(static_cast<size_t>(vocab_));
      for (int64_t v = 0; v < vocab_; ++v)
        w[static_cast<size_t>(v)] = std::exp((z[v] - z[next]) / temperature);
      next = std::discrete_distribution<int64_t>(w.begin(), w.end())(rng);
    }
    out.push_back(next);
    std::tie(logits, state) = run(column({next}), state);
  }
  train(was_training);
  return out;
}

}  // namespace ringmaster::models
