// rnn_lm: a language model: an embedding, a stack of recurrent layers
// (Recurrent: lstm, gru or rnn) and a linear decoder to the vocabulary, with
// dropout on the embeddings and before the decoder (PyTorch's
// word_language_model example). Optionally the decoder's weight is the
// embedding's (tie_weights, Press & Wolf; embedding_size must then equal
// hidden_size). Names: embedding.weight, rnn.weight_ih_l0 ..., decoder.weight
// (absent when tied), decoder.bias. Initialisation: embedding and decoder
// U(-0.1, 0.1), decoder bias 0, the recurrent layers as Recurrent.
//
// It reads token ids (N, T) on the cpu and gives time-major logits
// (T, N, V): position t scores the token after tokens[:, t].
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "models/model_registry.h"
#include "models/module.h"
#include "models/recurrent.h"

namespace ringmaster::models {

struct RnnLmOptions {
  ops::RnnCell cell = ops::RnnCell::kLstm;
  int64_t embedding_size = 0;  // 0: hidden_size
  int64_t hidden_size = 256;
  int64_t num_layers = 1;
  double dropout = 0.0;
  bool tie_weights = false;
};

void read_rnn_lm_options(SpecReader& r, RnnLmOptions& o);
// cfg.num_classes is the vocabulary's size.
std::shared_ptr<Module> make_rnn_lm(const RnnLmOptions& o, const ModelConfig& cfg,
                                    std::mt19937_64& rng);

class RnnLm : public Module {
 public:
  RnnLm(const RnnLmOptions& o, int64_t vocab_size, std::mt19937_64& rng);
  // tokens (N, T) i64 on the cpu -> logits (T, N, V).
  ops::Tensor forward(const ops::Tensor& tokens) override;
  ops::Tensor forward_batch(const ModelInput& in) override { return forward(in.tokens); }
  std::vector<ops::Tensor> training_heads_batch(const ModelInput& in) override {
    return {forward(in.tokens)};
  }

  // The logits (T, N, V) of time-major ids (T, N) i64 on the cpu from
  // `state`, and the state after them (generation feeds one step at a time).
  std::pair<ops::Tensor, RecurrentState> run(const ops::Tensor& time_major,
                                             const RecurrentState& state);

  // Continues `prompt` (ids) by `length` ids drawn from softmax(logits / t)
  // (t > 0; a temperature of 0 takes the arg-max), rng drawing. Eval mode.
  std::vector<int64_t> sample(const std::vector<int64_t>& prompt, int64_t length,
                              double temperature, std::mt19937_64& rng);

 private:
  RnnLmOptions options_;
  int64_t vocab_;
  ops::Tensor embedding_, decoder_weight_, decoder_bias_;
  std::shared_ptr<Recurrent> rnn_;
  std::shared_ptr<Dropout> drop_in_, drop_out_;
};

}  // namespace ringmaster::models
