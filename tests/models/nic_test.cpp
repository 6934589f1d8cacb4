// nic: the encoder's head is left out and its pooled features start the
// LSTM; PyTorch-style names; a position's word scores depend on the image
// and the words up to it only; greedy decoding agrees with teacher forcing;
// beam search finds the best caption when its beam holds every candidate;
// the spec's encoder and decoding fields are checked.
#include "models/nic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "models/text_corpus.h"
#include "ops/autograd.h"

namespace ringmaster::models {
namespace {

NicOptions small(int64_t beam = 3) {
  NicOptions o;
  o.encoder.name = "mlp";
  o.encoder.options = {{"hidden", {12}}};
  o.embedding_size = 6;
  o.hidden_size = 8;
  o.beam_size = beam;
  o.max_length = 3;
  return o;
}

ops::Tensor ids(const std::vector<int64_t>& v, int64_t n, int64_t t) {
  ops::Tensor x = ops::Tensor::empty({n, t}, ops::DType::i64);
  std::copy(v.begin(), v.end(), x.data<int64_t>());
  return x;
}

ops::Tensor images(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  return ops::Tensor::uniform({n, 1, 8, 8}, rng, 0.0f, 1.0f);
}

TEST(Nic, TheEncodersHeadMakesWayForTheImageEmbedding) {
  std::mt19937_64 rng(1);
  Nic nic(small(), ModelConfig{.in_channels = 1, .num_classes = 9, .image_size = 8}, rng);
  std::vector<std::string> names;
  for (const auto& [name, t] : nic.named_parameters()) names.push_back(name);
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "encoder.fc1.weight", "encoder.fc1.bias", "image_embedding.weight",
                "image_embedding.bias", "embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0",
                "rnn.bias_ih_l0", "rnn.bias_hh_l0", "decoder.weight", "decoder.bias"}));
  EXPECT_EQ(nic.forward(images(2, 1)).shape(), (ops::Shape{2, 12}));  // pooled features
  const auto& p = nic.named_parameters();
  EXPECT_EQ(p[2].second.shape(), (ops::Shape{6, 12}));
  EXPECT_EQ(p[4].second.shape(), (ops::Shape{9, 6}));
}

TEST(Nic, WordScoresDependOnTheImageAndTheWordsBefore) {
  std::mt19937_64 rng(2);
  Nic nic(small(), ModelConfig{.in_channels = 1, .num_classes = 9, .image_size = 8}, rng);
  nic.train(false);
  const ops::Tensor img = images(1, 5);
  const ops::Tensor a = nic.forward_batch({img, ids({2, 4, 5}, 1, 3)});
  ASSERT_EQ(a.shape(), (ops::Shape{3, 1, 9}));
  const ops::Tensor b = nic.forward_batch({img, ids({2, 4, 6}, 1, 3)});
  const ops::Tensor c = nic.forward_batch({images(1, 6), ids({2, 4, 5}, 1, 3)});
  for (int64_t t = 0; t < 3; ++t) {
    const float* x = a.data<float>() + t * 9;
    EXPECT_EQ(std::equal(x, x + 9, b.data<float>() + t * 9), t < 2) << "t " << t;
    EXPECT_FALSE(std::equal(x, x + 9, c.data<float>() + t * 9)) << "another image, t " << t;
  }
}

// The log-probability of a caption (words, then <end> unless cut at
// max_length) by teacher forcing.
double caption_score(Nic& nic, const ops::Tensor& img, const std::vector<int64_t>& words,
                     int64_t max_length) {
  std::vector<int64_t> in = {Vocabulary::kStart};
  in.insert(in.end(), words.begin(), words.end());
  const ops::Tensor z = nic.forward_batch({img, ids(in, 1, static_cast<int64_t>(in.size()))});
  const int64_t v = z.dim(2);
  std::vector<int64_t> targets = words;
  const bool cut = static_cast<int64_t>(words.size()) == max_length;
  if (!cut) targets.push_back(Vocabulary::kEnd);
  double score = 0.0;
  for (size_t t = 0; t < targets.size(); ++t) {
    const float* row = z.data<float>() + t * v;
    const float top = *std::max_element(row, row + v);
    double sum = 0.0;
    for (int64_t k = 0; k < v; ++k) sum += std::exp(static_cast<double>(row[k] - top));
    score += row[targets[t]] - top - std::log(sum);
  }
  return score;
}

TEST(Nic, BeamSearchWithRoomForEveryCandidateFindsTheBestCaption) {
  std::mt19937_64 rng(3);
  Nic nic(small(), ModelConfig{.in_channels = 1, .num_classes = 7, .image_size = 8}, rng);
  nic.train(false);
  ops::NoGradGuard no_grad;
  for (uint64_t seed = 10; seed < 16; ++seed) {
    const ops::Tensor img = images(1, seed);
    // Words 4, 5, 6; captions of 0..3 words: every one scored by teacher forcing.
    double best = -INFINITY;
    std::vector<int64_t> best_words;
    std::function<void(std::vector<int64_t>&)> walk = [&](std::vector<int64_t>& w) {
      if (const double s = caption_score(nic, img, w, 3); s > best) {
        best = s;
        best_words = w;
      }
      if (w.size() == 3) return;
      for (int64_t k = 4; k < 7; ++k) {
        w.push_back(k);
        walk(w);
        w.pop_back();
      }
    };
    std::vector<int64_t> w;
    walk(w);
    const auto found = nic.caption(img, {.beam_size = 64, .max_length = 3});
    EXPECT_EQ(found.at(0), best_words) << "seed " << seed;
    // Greedy is beam 1: each word the most likely after the ones before.
    const std::vector<int64_t> greedy = nic.caption(img, {.beam_size = 1, .max_length = 3}).at(0);
    std::vector<int64_t> in = {Vocabulary::kStart};
    in.insert(in.end(), greedy.begin(), greedy.end());
    const ops::Tensor z = nic.forward_batch({img, ids(in, 1, static_cast<int64_t>(in.size()))});
    for (size_t t = 0; t < greedy.size(); ++t) {
      const float* row = z.data<float>() + t * 7 + 3;  // <end> and the words
      EXPECT_EQ(std::max_element(row, row + 4) - row + 3, greedy[t]) << "seed " << seed;
    }
    EXPECT_GE(best, caption_score(nic, img, greedy, 3) - 1e-6);
  }
}

TEST(Nic, TheSpecsEncoderAndDecodingFieldsAreChecked) {
  std::mt19937_64 rng(4);
  const ModelConfig cfg{.in_channels = 1, .num_classes = 9, .image_size = 8};
  const nlohmann::json enc = {{"name", "mlp"}};
  EXPECT_NO_THROW(build_model("nic", cfg, rng, {{"encoder", enc}, {"hidden_size", 8}}));
  const auto error = [&](const nlohmann::json& o) {
    try {
      build_model("nic", cfg, rng, o);
    } catch (const ops::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error({{"encoder", enc}, {"beam_size", 0}}).find("/beam_size"), std::string::npos);
  EXPECT_NE(error({{"hidden_size", 8}}).find("/encoder: is required"), std::string::npos);
  EXPECT_NE(
      error({{"encoder", {{"name", "rnn_lm"}}}}).find("/encoder/name: must be an image model"),
      std::string::npos);
  EXPECT_NE(error({{"encoder", {{"name", "mlp"}, {"depth", 3}}}}).find("/encoder/depth"),
            std::string::npos);
  EXPECT_NE(error({{"encoder", enc}, {"image_grid", 0}}).find("/image_grid"), std::string::npos);
  EXPECT_NE(error({{"encoder", enc}, {"image_grid", 2}}).find("image_grid 2 needs an encoder"),
            std::string::npos);
}

// image_grid 2 swaps the resnet's global pool for a 2x2 grid: four times the
// features, and the grid says which half an item is in. An item in the right
// half leaves the left cells as they are on a blank image (the encoder's
// receptive field, about 25 pixels, does not reach across 48), and an item
// in the left half changes them; a global pool changes for either.
TEST(Nic, AnImageGridKeepsWhereThingsAre) {
  const ModelConfig cfg{.in_channels = 1, .num_classes = 9, .image_size = 48};
  const nlohmann::json enc = {{"name", "resnet"}, {"depth", 8}, {"width", 4}};
  std::mt19937_64 rng(7);
  auto global = build_model("nic", cfg, rng, {{"encoder", enc}, {"hidden_size", 8}});
  auto grid =
      build_model("nic", cfg, rng, {{"encoder", enc}, {"hidden_size", 8}, {"image_grid", 2}});
  const auto item_at = [](int64_t left) {
    ops::Tensor x = ops::Tensor::zeros({1, 1, 48, 48});
    for (int64_t y = 20; y < 28; ++y)
      for (int64_t c = left; c < left + 6; ++c) x.data<float>()[y * 48 + c] = 1.0f;
    return x;
  };
  const ops::Tensor blank = ops::Tensor::zeros({1, 1, 48, 48}), left = item_at(2),
                    right = item_at(40);
  global->eval();
  grid->eval();
  ops::NoGradGuard no_grad;
  ASSERT_EQ(global->forward(blank).shape(), (ops::Shape{1, 16}));
  ASSERT_EQ(grid->forward(blank).shape(), (ops::Shape{1, 64}));
  // Largest change of the features of cells (0, 0) and (1, 0) (the left
  // half: features 0..15 and 32..47), or of all the global pool's.
  const auto left_change = [&](const ops::Tensor& x) {
    const ops::Tensor a = grid->forward(x), b = grid->forward(blank);
    double d = 0.0;
    for (int64_t i : {0, 32})
      for (int64_t k = i; k < i + 16; ++k)
        d = std::max(d, std::abs(static_cast<double>(a.data<float>()[k]) - b.data<float>()[k]));
    return d;
  };
  const auto global_change = [&](const ops::Tensor& x) {
    const ops::Tensor a = global->forward(x), b = global->forward(blank);
    double d = 0.0;
    for (int64_t k = 0; k < 16; ++k)
      d = std::max(d, std::abs(static_cast<double>(a.data<float>()[k]) - b.data<float>()[k]));
    return d;
  };
  EXPECT_LT(left_change(right), 1e-6);
  EXPECT_GT(left_change(left), 1e-3);
  EXPECT_GT(global_change(left), 1e-3);
  EXPECT_GT(global_change(right), 1e-3);
}

}  // namespace
}  // namespace ringmaster::models

namespace ringmaster::models {
namespace {

TEST(Nic, GradientsReachTheEncoderThroughTheImageStep) {
  std::mt19937_64 rng(5);
  Nic nic(small(), ModelConfig{.in_channels = 1, .num_classes = 9, .image_size = 8}, rng);
  ops::Tensor z = nic.forward_batch({images(2, 7), ids({2, 4, 5, 2, 6, 4}, 2, 3)});
  z.backward(ops::Tensor::full(z.shape(), 1.0f));
  for (const auto& [name, p] : nic.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    const std::vector<float> g = p.grad().to_vector();
    EXPECT_TRUE(std::any_of(g.begin(), g.end(), [](float v) { return v != 0.0f; })) << name;
  }
}

}  // namespace
}  // namespace ringmaster::models

namespace ringmaster::models {
namespace {

// d(sum of w * logits) / d(image_embedding.weight) against central differences.
TEST(Nic, TheImageEmbeddingsGradientMatchesFiniteDifferences) {
  std::mt19937_64 rng(6);
  Nic nic(small(), ModelConfig{.in_channels = 1, .num_classes = 9, .image_size = 8}, rng);
  const ops::Tensor img = images(3, 8);
  const ops::Tensor tok = ids({2, 4, 5, 6, 2, 6, 4, 4, 2, 5, 5, 7}, 3, 4);
  const ops::Tensor w = ops::Tensor::uniform({4, 3, 9}, rng, -1.0f, 1.0f);
  const auto objective = [&] {
    const ops::Tensor z = nic.forward_batch({img, tok});
    double s = 0.0;
    for (int64_t i = 0; i < z.numel(); ++i)
      s += static_cast<double>(z.data<float>()[i]) * w.data<float>()[i];
    return s;
  };
  ops::Tensor z = nic.forward_batch({img, tok});
  z.backward(w);
  ops::Tensor p;
  for (const auto& [name, t] : nic.named_parameters())
    if (name == "image_embedding.weight") p = t;
  const std::vector<float> g = p.grad().to_vector();
  ops::NoGradGuard no_grad;
  for (int64_t k : {0, 5, 17, 40, 71}) {
    float* x = p.data<float>() + k;
    const float keep = *x;
    *x = keep + 1e-2f;
    const double up = objective();
    *x = keep - 1e-2f;
    const double down = objective();
    *x = keep;
    EXPECT_NEAR(g[static_cast<size_t>(k)], (up - down) / 2e-2, 2e-3) << "element " << k;
  }
}

}  // namespace
}  // namespace ringmaster::models

#include "ops/sequence_cross_entropy.h"
#include "training/optimizer.h"

namespace ringmaster::models {
namespace {

// Four images, each with its own one-word caption: a few hundred Adam steps
// teach the model which word goes with which image.
TEST(Nic, LearnsWhichWordGoesWithWhichImage) {
  std::mt19937_64 rng(7);
  NicOptions o = small(1);
  o.encoder.options = {{"hidden", {32}}};
  o.embedding_size = 16;
  o.hidden_size = 32;
  Nic nic(o, ModelConfig{.in_channels = 1, .num_classes = 10, .image_size = 8}, rng);
  const ops::Tensor img = images(4, 9);
  const ops::Tensor in = ids({2, 4, 2, 5, 2, 6, 2, 7}, 4, 2);         // <start> word
  ops::Tensor targets = ops::Tensor::empty({2, 4}, ops::DType::i64);  // (T, N): word, <end>
  for (int64_t i = 0; i < 4; ++i) {
    targets.data<int64_t>()[i] = 4 + i;
    targets.data<int64_t>()[4 + i] = Vocabulary::kEnd;
  }
  training::Adam opt(nic.named_parameters(), training::AdamOptions{.lr = 0.01});
  double loss = 0.0;
  for (int step = 0; step < 300; ++step) {
    opt.zero_grad();
    ops::Tensor l = ops::sequence_cross_entropy(nic.forward_batch({img, in}), targets, 0);
    l.backward();
    opt.step();
    loss = l.item();
  }
  EXPECT_LT(loss, 0.05);
  const auto words = nic.caption(img, {.beam_size = 1, .max_length = 4});
  for (int64_t i = 0; i < 4; ++i)
    EXPECT_EQ(words[static_cast<size_t>(i)], std::vector<int64_t>{4 + i});
}

}  // namespace
}  // namespace ringmaster::models
