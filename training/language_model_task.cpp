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

#include "training/token_targets.h"

namespace ringmaster::training {
namespace {

class LanguageModelTask : public Task {
 public:
  models::ModelInput model_input(const models::Batch& b) const override {
    return {b.images, input_tokens(b.tokens)};
  }
  ops::Tensor loss(const ops::Tensor& logits, const models::Batch& b,
                   ops::Device device) const override {
    return sequence_loss(logits, b.tokens, device);
  }
  void count(const ops::Tensor& logits, const models::Batch& b, Tally& t) const override {
    count_next_tokens(logits, b.tokens, t);
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
