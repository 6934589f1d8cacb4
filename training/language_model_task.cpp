// Language modelling: each window of token ids (N, L + 1) is read as input
// tokens[:, :L] and scored on targets tokens[:, 1:], by the mean
// cross-entropy over the target tokens (pads, id 0, count nothing) of the
// model's time-major logits (L, N, V). Counted: next-token accuracy. Test
// figures: perplexity = exp(loss) and bits per character = loss / ln 2 (the
// loss is a mean over tokens, and every window has the same number of
// tokens, so the per-window mean the trainer keeps is the per-token one; a
// token is a byte of the character-level data sets).
#include <cmath>
#include <cstdio>

#include "models/text_corpus.h"
#include "ops/sequence_cross_entropy.h"
#include "training/task.h"

namespace ringmaster::training {
namespace {

// Columns [from, from + count) of (N, L) i64 ids, transposed to (count, N).
ops::Tensor time_major_columns(const ops::Tensor& tokens, int64_t from, int64_t count) {
  const int64_t n = tokens.dim(0), l = tokens.dim(1);
  ops::Tensor out = ops::Tensor::empty({count, n}, ops::DType::i64);
  const int64_t* src = tokens.data<int64_t>();
  int64_t* dst = out.data<int64_t>();
  for (int64_t t = 0; t < count; ++t)
    for (int64_t i = 0; i < n; ++i) dst[t * n + i] = src[i * l + from + t];
  return out;
}

ops::Tensor input_columns(const ops::Tensor& tokens) {
  RM_THROW_IF(!tokens.defined() || tokens.ndim() != 2 || tokens.dim(1) < 2,
              "a language model needs windows of at least 2 tokens");
  const int64_t n = tokens.dim(0), l = tokens.dim(1) - 1;
  ops::Tensor out = ops::Tensor::empty({n, l}, ops::DType::i64);
  for (int64_t i = 0; i < n; ++i)
    std::copy_n(tokens.data<int64_t>() + i * (l + 1), l, out.data<int64_t>() + i * l);
  return out;
}

class LanguageModelTask : public Task {
 public:
  models::ModelInput model_input(const models::Batch& b) const override {
    return {b.images, input_columns(b.tokens)};
  }
  ops::Tensor loss(const ops::Tensor& logits, const models::Batch& b,
                   ops::Device device) const override {
    const ops::Tensor targets = time_major_columns(b.tokens, 1, b.tokens.dim(1) - 1);
    RM_THROW_IF(
        logits.ndim() != 3 || logits.dim(0) != targets.dim(0) || logits.dim(1) != targets.dim(1),
        "a language model's logits must be (T, N, V) = (", targets.dim(0), ", ", targets.dim(1),
        ", V); got ", ops::to_string(logits));
    return ops::sequence_cross_entropy(logits, targets.to(device), models::Vocabulary::kPad);
  }
  void count(const ops::Tensor& logits, const models::Batch& b, Tally& t) const override {
    const ops::Tensor l = logits.to(ops::Device::cpu()).to_plain();
    const ops::Tensor want = time_major_columns(b.tokens, 1, b.tokens.dim(1) - 1);
    const int64_t positions = want.numel(), v = l.dim(2);
    const float* z = l.data<float>();
    const int64_t* w = want.data<int64_t>();
    for (int64_t p = 0; p < positions; ++p) {
      if (w[p] == models::Vocabulary::kPad) continue;
      const float* row = z + p * v;
      t.correct += std::max_element(row, row + v) - row == w[p];
      ++t.units;
    }
  }
  Evaluation evaluate(const Tally& t) const override {
    Evaluation ev = Task::evaluate(t);
    if (t.samples == 0.0) return ev;
    ev.figures["perplexity"] = std::exp(ev.loss);
    ev.figures["bits_per_char"] = ev.loss / std::log(2.0);
    return ev;
  }
  std::string describe(int64_t epoch, const Evaluation& ev) const override {
    if (ev.figures.empty()) return {};
    char line[160];
    std::snprintf(line, sizeof line,
                  "epoch %lld: test perplexity %.3f, %.4f bits per character, next-character "
                  "accuracy %.2f%%",
                  static_cast<long long>(epoch), ev.figures.at("perplexity"),
                  ev.figures.at("bits_per_char"), 100.0 * ev.accuracy);
    return line;
  }
};

}  // namespace

std::unique_ptr<Task> make_language_model_task(int) {
  return std::make_unique<LanguageModelTask>();
}

}  // namespace ringmaster::training
