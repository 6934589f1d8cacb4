// nic (see nic.h): the encoder without its head, the image step, teacher
// forcing, and greedy / beam-search decoding.
#include "models/nic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/layers.h"
#include "models/model_builder.h"
#include "models/text_corpus.h"
#include "models/time_major.h"
#include "ops/autograd.h"
#include "ops/check.h"
#include "ops/concat.h"
#include "ops/embedding.h"
#include "ops/linear.h"
#include "ops/reshape.h"
#include "ops/slice.h"

namespace ringmaster::models {

void read_nic_options(SpecReader& r, NicOptions& o) {
  if (const nlohmann::json* e = r.raw("encoder")) {
    parse_model_spec(*e, r.child("encoder"), false, o.encoder, r.problems());
    const std::vector<std::string> known = model_names();
    const bool image_model = std::find(known.begin(), known.end(), o.encoder.name) != known.end() &&
                             model_reads(o.encoder.name) == ModelReads::kImages;
    if (!image_model)
      r.problem("encoder/name",
                "must be an image model of the library, got \"" + o.encoder.name + "\"");
  } else {
    r.problem("encoder", "is required: the image model whose pooled features start the caption");
  }
  r.integer("encoder_classes", o.encoder_classes, 1, 100000);
  r.integer("image_grid", o.image_grid, 1, 8);
  r.integer("embedding_size", o.embedding_size, 1, 65536);
  r.integer("hidden_size", o.hidden_size, 1, 65536);
  r.integer("num_layers", o.num_layers, 1, 16);
  r.number("dropout", o.dropout, 0.0, 0.95);
  r.integer("beam_size", o.beam_size, 1, 64);
  r.integer("max_length", o.max_length, 1, 200);
  r.number("length_normalization", o.length_normalization, 0.0, 2.0);
}

std::shared_ptr<Module> make_nic(const NicOptions& o, const ModelConfig& cfg,
                                 std::mt19937_64& rng) {
  return std::make_shared<Nic>(o, cfg, rng);
}

namespace {

// The dotted path of the last global average pool under root, or "".
std::string last_global_pool(Module& root) {
  std::string path;
  for (const auto& [name, m] : root.named_modules())
    if (dynamic_cast<GlobalAvgPool2d*>(m) != nullptr) path = name;
  return path;
}

// Columns `cols` of a (A, K, H) state, as (A, cols.size(), H) on its device.
ops::Tensor select_columns(const ops::Tensor& s, const std::vector<int64_t>& cols) {
  if (!s.defined()) return s;
  const ops::Tensor h = s.to(ops::Device::cpu()).to_plain();
  const int64_t a = h.dim(0), k = h.dim(1), w = h.dim(2);
  const auto m = static_cast<int64_t>(cols.size());
  ops::Tensor out = ops::Tensor::empty({a, m, w});
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < m; ++j) {
      RM_CHECK(cols[static_cast<size_t>(j)] < k, "select_columns: column out of range");
      std::copy_n(h.data<float>() + (i * k + cols[static_cast<size_t>(j)]) * w, w,
                  out.data<float>() + (i * m + j) * w);
    }
  return out.to(s.device());
}

}  // namespace

Nic::Nic(const NicOptions& o, const ModelConfig& cfg, std::mt19937_64& rng)
    : options_(o), vocab_(cfg.num_classes) {
  RM_THROW_IF(vocab_ < 5, "nic: a vocabulary of ", vocab_,
              " tokens (the data set has no captions?)");
  RM_THROW_IF(cfg.in_channels < 1 || cfg.image_size < 1, "nic: the data set has no images");
  ModelConfig image_cfg = cfg;
  image_cfg.num_classes = static_cast<int>(o.encoder_classes);
  std::vector<std::string> encoder_log;
  encoder_ =
      register_module("encoder", build_model_from_spec(o.encoder, image_cfg, rng, &encoder_log));
  if (cfg.log != nullptr)
    for (const std::string& line : encoder_log) cfg.log->push_back("encoder: " + line);
  const std::string head = head_name(*encoder_);
  RM_THROW_IF(head.empty(), "nic: the encoder \"", o.encoder.name, "\" has no head to leave out");
  replace_layer(*encoder_, head, std::make_shared<Identity>());
  if (o.image_grid > 1) {
    const std::string pool = last_global_pool(*encoder_);
    RM_THROW_IF(pool.empty(), "nic: image_grid ", o.image_grid, " needs an encoder with a global ",
                "average pool to replace; \"", o.encoder.name, "\" has none");
    replace_layer(*encoder_, pool, std::make_shared<GridAvgPool2d>(o.image_grid));
    if (cfg.log != nullptr)
      cfg.log->push_back("encoder: " + pool + " pools a " + std::to_string(o.image_grid) + "x" +
                         std::to_string(o.image_grid) + " grid (image_grid)");
  }
  {
    ops::NoGradGuard no_grad;
    encoder_->train(false);
    try {
      features_ =
          forward(ops::Tensor::zeros({1, cfg.in_channels, cfg.image_size, cfg.image_size})).numel();
    } catch (const ops::Error& e) {
      RM_THROW_IF(o.image_grid > 1, "nic: image_grid ", o.image_grid,
                  " does not fit the encoder's last feature map at ", cfg.image_size, " px (",
                  e.what(), "): a smaller image_grid, or larger images");
      throw;
    }
    encoder_->train(true);
  }
  const int64_t e = o.embedding_size, h = o.hidden_size;
  const auto fan_in = static_cast<float>(1.0 / std::sqrt(static_cast<double>(features_)));
  auto image = register_module("image_embedding", std::make_shared<ParameterHolder>());
  image_weight_ = image->register_parameter(
      "weight", ops::Tensor::uniform({e, features_}, rng, -fan_in, fan_in));
  image_bias_ = image->register_parameter("bias", ops::Tensor::uniform({e}, rng, -fan_in, fan_in));
  auto words = register_module("embedding", std::make_shared<ParameterHolder>());
  embedding_ =
      words->register_parameter("weight", ops::Tensor::uniform({vocab_, e}, rng, -0.1f, 0.1f));
  drop_image_ = register_module("drop_image", std::make_shared<Dropout>(o.dropout, rng));
  drop_words_ = register_module("drop_words", std::make_shared<Dropout>(o.dropout, rng));
  rnn_ = register_module("rnn",
                         std::make_shared<Recurrent>(RecurrentOptions{.cell = ops::RnnCell::kLstm,
                                                                      .input_size = e,
                                                                      .hidden_size = h,
                                                                      .num_layers = o.num_layers,
                                                                      .dropout = o.dropout},
                                                     rng));
  // Forget gates open at the start (bias 1 in all, Jozefowicz et al. 2015):
  // the image, seen once at the first step, must last until the words that
  // name what it shows.
  for (const auto& [name, b] : rnn_->named_parameters()) {
    if (name.rfind("bias_", 0) != 0) continue;
    const float value = name.rfind("bias_ih", 0) == 0 ? 1.0f : 0.0f;
    std::fill_n(b.data<float>() + h, h, value);  // gates i, f, g, o: f is [H, 2H)
  }
  drop_out_ = register_module("drop_out", std::make_shared<Dropout>(o.dropout, rng));
  auto decoder = register_module("decoder", std::make_shared<ParameterHolder>());
  decoder_weight_ =
      decoder->register_parameter("weight", ops::Tensor::uniform({vocab_, h}, rng, -0.1f, 0.1f));
  decoder_bias_ = decoder->register_parameter("bias", ops::Tensor::zeros({vocab_}));
}

ops::Tensor Nic::forward(const ops::Tensor& images) {
  const ops::Tensor f = encoder_->forward(images);
  return f.ndim() == 2 ? f : ops::flatten(f, 1);
}

ops::Tensor Nic::image_step(const ops::Tensor& images) {
  const ops::Tensor v = ops::linear(forward(images), image_weight_, image_bias_);
  return drop_image_->forward(ops::reshape(v, {1, v.dim(0), options_.embedding_size}));
}

ops::Tensor Nic::forward_batch(const ModelInput& in) {
  RM_THROW_IF(!in.images.defined() || !in.tokens.defined() || in.tokens.ndim() != 2,
              "nic reads images and caption tokens (N, T)");
  const ops::Tensor ids = time_major_tokens(in.tokens).to(device());
  const int64_t t = ids.dim(0), n = ids.dim(1);
  const ops::Tensor words = drop_words_->forward(ops::embedding(embedding_, ids));
  const ops::Tensor x = ops::concat({image_step(in.images), words}, 0);  // (T + 1, N, E)
  const ops::Tensor y = drop_out_->forward(ops::slice(rnn_->run(x).y, 0, 1, t + 1));
  const ops::Tensor logits =
      ops::linear(ops::reshape(y, {t * n, options_.hidden_size}), decoder_weight_, decoder_bias_);
  return ops::reshape(logits, {t, n, vocab_});
}

std::pair<ops::Tensor, RecurrentState> Nic::step(const std::vector<int64_t>& words,
                                                 const RecurrentState& state) {
  const auto k = static_cast<int64_t>(words.size());
  ops::Tensor ids = ops::Tensor::empty({1, k}, ops::DType::i64);
  std::copy(words.begin(), words.end(), ids.data<int64_t>());
  const RecurrentOutput out = rnn_->run(ops::embedding(embedding_, ids.to(device())), state);
  const ops::Tensor logits =
      ops::linear(ops::reshape(out.y, {k, options_.hidden_size}), decoder_weight_, decoder_bias_)
          .to(ops::Device::cpu())
          .to_plain();
  ops::Tensor logp = ops::Tensor::empty({k, vocab_});
  for (int64_t i = 0; i < k; ++i) {
    const float* z = logits.data<float>() + i * vocab_;
    const float top = *std::max_element(z, z + vocab_);
    double sum = 0.0;
    for (int64_t v = 0; v < vocab_; ++v) sum += std::exp(static_cast<double>(z[v] - top));
    const auto log_sum = static_cast<float>(std::log(sum));
    for (int64_t v = 0; v < vocab_; ++v) logp.data<float>()[i * vocab_ + v] = z[v] - top - log_sum;
  }
  return {logp, out.state};
}

std::vector<int64_t> Nic::beam_search(const RecurrentState& start, const DecodeOptions& d) {
  struct Beam {
    std::vector<int64_t> words;
    double score = 0.0;
  };
  const auto ranked = [&](double score, size_t length) {
    return d.length_normalization > 0.0
               ? score / std::pow(static_cast<double>(length), d.length_normalization)
               : score;
  };
  std::vector<Beam> alive = {Beam{}};
  RecurrentState state = start;
  double best_done = -INFINITY;
  std::vector<int64_t> best_words;
  bool found = false;
  const auto width = static_cast<size_t>(d.beam_size);
  for (int64_t t = 0; !alive.empty(); ++t) {
    if (t == d.max_length) {  // cut: the alive captions end here, as they are
      for (const Beam& b : alive)
        if (const double r = ranked(b.score, b.words.size()); !found || r > best_done) {
          best_done = r;
          best_words = b.words;
          found = true;
        }
      break;
    }
    std::vector<int64_t> last;
    for (const Beam& b : alive)
      last.push_back(b.words.empty() ? Vocabulary::kStart : b.words.back());
    auto [logp, next] = step(last, state);
    struct Candidate {
      double score;
      size_t beam;
      int64_t word;
    };
    std::vector<Candidate> c;
    for (size_t b = 0; b < alive.size(); ++b)
      for (int64_t v = Vocabulary::kEnd; v < vocab_; ++v)  // never pad, unk or start
        c.push_back(
            {alive[b].score + logp.data<float>()[static_cast<int64_t>(b) * vocab_ + v], b, v});
    const size_t keep = std::min(c.size(), 2 * width);
    std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(keep), c.end(),
                      [](const Candidate& x, const Candidate& y) { return x.score > y.score; });
    std::vector<Beam> grown;
    std::vector<int64_t> parents;
    for (size_t i = 0; i < keep && grown.size() < width; ++i) {
      const Beam& from = alive[c[i].beam];
      if (c[i].word == Vocabulary::kEnd) {
        if (const double r = ranked(c[i].score, from.words.size() + 1); !found || r > best_done) {
          best_done = r;
          best_words = from.words;
          found = true;
        }
        continue;
      }
      grown.push_back({from.words, c[i].score});
      grown.back().words.push_back(c[i].word);
      parents.push_back(static_cast<int64_t>(c[i].beam));
    }
    // Summed log-probabilities only fall: no alive beam can beat a finished
    // one once the best alive scores below it (exact without normalisation).
    if (found && d.length_normalization == 0.0 && (grown.empty() || grown[0].score <= best_done))
      break;
    alive = std::move(grown);
    state = {select_columns(next.h, parents), select_columns(next.c, parents)};
  }
  return best_words;
}

std::vector<std::vector<int64_t>> Nic::caption(const ops::Tensor& images, const DecodeOptions& d) {
  RM_THROW_IF(d.beam_size < 1 || d.max_length < 1, "nic: beam_size and max_length must be >= 1");
  const bool was_training = is_training();
  train(false);
  ops::NoGradGuard no_grad;
  const RecurrentOutput first = rnn_->run(image_step(images));
  std::vector<std::vector<int64_t>> out;
  for (int64_t i = 0; i < images.dim(0); ++i)
    out.push_back(
        beam_search({select_columns(first.state.h, {i}), select_columns(first.state.c, {i})}, d));
  train(was_training);
  return out;
}

}  // namespace ringmaster::models
