// nic: Show and Tell (Vinyals et al. 2015), an image captioner. A CNN
// encoder from the model library (its own model object under `encoder`,
// with its own init and freeze: e.g. a resnet loaded from a Fashion-MNIST
// checkpoint, frozen or fine-tuned) gives pooled features (the encoder's
// head, its last layer, is left out); a linear layer projects them to the
// word-embedding size and they are the LSTM's first input, whose output is
// not scored. With image_grid g > 1 the encoder's last global average pool
// becomes a g x g grid of means (GridAvgPool2d), so the features say where
// things are as well as what they are (which item is left of which). Then the caption's words
// follow (teacher forcing in training), each step scoring the next word. Names: encoder.*,
// image_embedding.weight and .bias, embedding.weight, rnn.* (PyTorch's LSTM names), decoder.weight
// and .bias. Dropout on the image and word embeddings and before the decoder.
//
// caption() decodes: greedy (beam 1) or beam search (beam_size hypotheses,
// scores summed log-probabilities, a finished one ranked by score / length
// ^ length_normalization), stopping at <end> or max_length words.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "models/model_registry.h"
#include "models/model_spec.h"
#include "models/module.h"
#include "models/recurrent.h"

namespace ringmaster::models {

struct NicOptions {
  ModelSpec encoder;             // an image model; its head is dropped
  int64_t encoder_classes = 10;  // the encoder's head size, to load a classifier's checkpoint
  int64_t image_grid = 1;        // > 1: the encoder's global pool becomes a g x g grid of means
  int64_t embedding_size = 256;
  int64_t hidden_size = 512;
  int64_t num_layers = 1;
  double dropout = 0.0;
  int64_t beam_size = 3;              // decoding in evaluation; 1 is greedy
  int64_t max_length = 20;            // words
  double length_normalization = 0.0;  // alpha; 0 ranks by the summed log-probability
};

void read_nic_options(SpecReader& r, NicOptions& o);
// cfg: the images' shape; cfg.num_classes is the vocabulary's size.
std::shared_ptr<Module> make_nic(const NicOptions& o, const ModelConfig& cfg, std::mt19937_64& rng);

struct DecodeOptions {
  int64_t beam_size = 1;
  int64_t max_length = 20;
  double length_normalization = 0.0;
};

// What a caption task asks of a model: word ids per image (without <start>
// and <end>), images (N, C, H, W) on the model's device. Eval mode, no grad.
class Captioner {
 public:
  virtual ~Captioner() = default;
  virtual std::vector<std::vector<int64_t>> caption(const ops::Tensor& images,
                                                    const DecodeOptions& d) = 0;
  virtual DecodeOptions decode_options() const = 0;  // the spec's
};

class Nic : public Module, public Captioner {
 public:
  Nic(const NicOptions& o, const ModelConfig& cfg, std::mt19937_64& rng);
  // Images only: the pooled features (N, F) (no words to score).
  ops::Tensor forward(const ops::Tensor& images) override;
  // images and the caption's input tokens (N, T) on the cpu -> logits (T, N, V).
  ops::Tensor forward_batch(const ModelInput& in) override;
  std::vector<ops::Tensor> training_heads_batch(const ModelInput& in) override {
    return {forward_batch(in)};
  }
  std::vector<std::vector<int64_t>> caption(const ops::Tensor& images,
                                            const DecodeOptions& d) override;
  DecodeOptions decode_options() const override {
    return {options_.beam_size, options_.max_length, options_.length_normalization};
  }

 private:
  // The LSTM's state after the image step, and the image step's input (1, N, E).
  ops::Tensor image_step(const ops::Tensor& images);
  // Log-probabilities (N, V) on the cpu of one word per row from `state`,
  // and the state after.
  std::pair<ops::Tensor, RecurrentState> step(const std::vector<int64_t>& words,
                                              const RecurrentState& state);
  std::vector<int64_t> beam_search(const RecurrentState& start, const DecodeOptions& d);

  NicOptions options_;
  int64_t vocab_ = 0, features_ = 0;
  std::shared_ptr<Module> encoder_;
  ops::Tensor image_weight_, image_bias_, embedding_, decoder_weight_, decoder_bias_;
  std::shared_ptr<Recurrent> rnn_;
  std::shared_ptr<Dropout> drop_image_, drop_words_, drop_out_;
};

}  // namespace ringmaster::models
