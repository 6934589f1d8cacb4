// rnn_lm: PyTorch's names and parameter count, untied and tied; a position's
// logits depend only on the tokens up to it; generation one step at a time
// (the state carried) agrees with the whole sequence run at once; a tied
// decoder sends its gradient into the embedding.
#include "models/rnn_lm.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "models/model_registry.h"

namespace ringmaster::models {
namespace {

ops::Tensor ids(const std::vector<int64_t>& v, int64_t n, int64_t t) {
  ops::Tensor x = ops::Tensor::empty({n, t}, ops::DType::i64);
  std::copy(v.begin(), v.end(), x.data<int64_t>());
  return x;
}

std::vector<std::string> names(const Module& m) {
  std::vector<std::string> out;
  for (const auto& [name, t] : m.named_parameters()) out.push_back(name);
  return out;
}

TEST(RnnLm, NamesAndCountAreTheWordLanguageModelsOfPyTorch) {
  std::mt19937_64 rng(1);
  const int64_t V = 11, D = 5, H = 7;
  RnnLm lm(RnnLmOptions{.cell = ops::RnnCell::kLstm, .embedding_size = D, .hidden_size = H}, V,
           rng);
  EXPECT_EQ(names(lm), (std::vector<std::string>{
                           "embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0",
                           "rnn.bias_ih_l0", "rnn.bias_hh_l0", "decoder.weight", "decoder.bias"}));
  // nn.Embedding(V, D) + nn.LSTM(D, H) + nn.Linear(H, V)
  EXPECT_EQ(lm.num_parameters(), V * D + 4 * H * (D + H) + 8 * H + H * V + V);
  RnnLm tied(RnnLmOptions{.cell = ops::RnnCell::kGru, .hidden_size = H, .tie_weights = true}, V,
             rng);
  const std::vector<std::string> n = names(tied);
  EXPECT_EQ(std::count(n.begin(), n.end(), "decoder.weight"), 0);
  EXPECT_EQ(tied.num_parameters(), V * H + 3 * H * (H + H) + 6 * H + V);
  // The registry builds it; a tie with another embedding size is refused.
  EXPECT_NO_THROW(build_model("rnn_lm", ModelConfig{.num_classes = 20}, rng,
                              {{"hidden_size", 8}, {"num_layers", 2}}));
  EXPECT_THROW(build_model("rnn_lm", ModelConfig{.num_classes = 20}, rng,
                           {{"hidden_size", 8}, {"embedding_size", 4}, {"tie_weights", true}}),
               ops::Error);
}

TEST(RnnLm, APositionsLogitsDependOnlyOnTheTokensUpToIt) {
  std::mt19937_64 rng(2);
  RnnLm lm(RnnLmOptions{.hidden_size = 6, .num_layers = 2}, 9, rng);
  const ops::Tensor a = lm.forward(ids({4, 5, 6, 7, 8, 4, 4, 4}, 2, 4));
  const ops::Tensor b = lm.forward(ids({4, 5, 8, 8, 8, 4, 4, 5}, 2, 4));
  ASSERT_EQ(a.shape(), (ops::Shape{4, 2, 9}));  // time-major
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  // Sample 0 differs from t = 2 on, sample 1 at t = 3 only.
  for (int64_t t = 0; t < 4; ++t)
    for (int64_t i = 0; i < 2; ++i) {
      const bool same_prefix = (i == 0 && t < 2) || (i == 1 && t < 3);
      const float* x = pa + (t * 2 + i) * 9;
      const float* y = pb + (t * 2 + i) * 9;
      EXPECT_EQ(std::equal(x, x + 9, y), same_prefix) << "t " << t << " sample " << i;
    }
}

TEST(RnnLm, GreedyGenerationStepByStepMatchesTheWholeSequence) {
  std::mt19937_64 rng(3);
  RnnLm lm(RnnLmOptions{.cell = ops::RnnCell::kGru, .hidden_size = 10}, 8, rng);
  lm.train(false);
  const std::vector<int64_t> prompt = {4, 6, 5};
  std::mt19937_64 draw(1);
  const std::vector<int64_t> more = lm.sample(prompt, 6, 0.0, draw);
  ASSERT_EQ(more.size(), 6u);
  std::vector<int64_t> all = prompt;
  all.insert(all.end(), more.begin(), more.end());
  const ops::Tensor logits = lm.forward(ids(all, 1, static_cast<int64_t>(all.size())));
  for (size_t k = 0; k < more.size(); ++k) {
    const float* z = logits.data<float>() + (prompt.size() - 1 + k) * 8;
    EXPECT_EQ(std::max_element(z, z + 8) - z, more[k]) << "token " << k;
  }
  // Sampling at a temperature follows its generator: the same seed, the same text.
  std::mt19937_64 s1(9), s2(9);
  EXPECT_EQ(lm.sample(prompt, 20, 1.0, s1), lm.sample(prompt, 20, 1.0, s2));
}

TEST(RnnLm, ATiedDecoderSendsItsGradientIntoTheEmbedding) {
  std::mt19937_64 rng(4);
  RnnLm lm(RnnLmOptions{.hidden_size = 6, .tie_weights = true}, 10, rng);
  ops::Tensor y = lm.forward(ids({4, 5}, 1, 2));
  y.backward(ops::Tensor::full(y.shape(), 1.0f));
  const ops::Tensor g = lm.named_parameters().at(0).second.grad();
  ASSERT_TRUE(g.defined());
  // Row 9 is never an input: only the decoder's use of the weight reaches it.
  const float* row9 = g.data<float>() + 9 * 6;
  EXPECT_TRUE(std::any_of(row9, row9 + 6, [](float v) { return v != 0.0f; }));
}

}  // namespace
}  // namespace ringmaster::models
