// Captioning: images with R reference sentences each (tokens (N, R, L)).
// Training scores the model's time-major logits on one reference per image,
// teacher-forced (the reference a pure function of the epoch and the
// image's index, so every epoch sees others and a resumed run the same);
// counted: next-word accuracy. Evaluation also decodes every test image
// (the model's own decoding: beam search, and greedy for comparison) and
// scores the captions against all its references: corpus BLEU-1..4 (their
// counts summed over batches and ranks), CIDEr-D (document frequencies from
// the whole test set's references) and exact match.
#include <cstdio>

#include "models/nic.h"
#include "training/caption_metrics.h"
#include "training/token_targets.h"

namespace ringmaster::training {
namespace {

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Tally::task: BLEU counts of the beam captions (10), of the greedy ones
// (10), the CIDEr-D sum, the exact matches, the images decoded.
constexpr size_t kBeam = 0, kGreedy = 10, kCider = 20, kExact = 21, kImages = 22, kSums = 23;

class CaptioningTask : public Task {
 public:
  void prepare(const models::Dataset& test) override {
    RM_THROW_IF(test.vocab == nullptr || !test.tokens.defined() || test.tokens.ndim() != 3,
                "captioning needs images with reference captions (N, R, L)");
    vocab_ = test.vocab;
    std::vector<std::vector<Sentence>> all;
    for (int64_t i = 0; i < test.size(); ++i) all.push_back(references(test.tokens, i));
    cider_ = std::make_shared<const CiderCorpus>(all);
  }
  models::ModelInput model_input(const models::Batch& b) const override {
    return {b.images, input_tokens(chosen(b))};
  }
  ops::Tensor loss(const ops::Tensor& logits, const models::Batch& b,
                   ops::Device device) const override {
    return sequence_loss(logits, chosen(b), device);
  }
  void count(const ops::Tensor& logits, const models::Batch& b, Tally& t) const override {
    count_next_tokens(logits, chosen(b), t);
  }
  void count_generated(models::Module& model, const models::ModelInput& in, const models::Batch& b,
                       Tally& t) const override {
    auto* captioner = dynamic_cast<models::Captioner*>(&model);
    RM_THROW_IF(captioner == nullptr, "captioning needs a model that decodes captions (nic)");
    const models::DecodeOptions beam = captioner->decode_options();
    models::DecodeOptions greedy = beam;
    greedy.beam_size = 1;
    const auto beams = captioner->caption(in.images, beam);
    const auto greedies = beam.beam_size == 1 ? beams : captioner->caption(in.images, greedy);
    BleuCounts beam_counts, greedy_counts;
    for (size_t i = 0; i < beams.size(); ++i) {
      const std::vector<Sentence> refs = references(b.tokens, static_cast<int64_t>(i));
      const Sentence hyp = split_words(models::decode_words(*vocab_, beams[i]));
      beam_counts.add(refs, hyp);
      greedy_counts.add(refs, split_words(models::decode_words(*vocab_, greedies[i])));
      t.task[kCider] += cider_->score(refs, hyp);
      t.task[kExact] += std::find(refs.begin(), refs.end(), hyp) != refs.end();
      t.task[kImages] += 1.0;
    }
    for (size_t k = 0; k < 10; ++k) {
      t.task[kBeam + k] += beam_counts.v[k];
      t.task[kGreedy + k] += greedy_counts.v[k];
    }
  }
  Tally new_tally() const override {
    Tally t;
    t.task.assign(kSums, 0.0);
    return t;
  }
  Evaluation evaluate(const Tally& t) const override {
    Evaluation ev = Task::evaluate(t);
    if (t.task.size() != kSums || t.task[kImages] == 0.0) return ev;
    BleuCounts beam, greedy;
    std::copy_n(t.task.begin() + kBeam, 10, beam.v.begin());
    std::copy_n(t.task.begin() + kGreedy, 10, greedy.v.begin());
    const std::array<double, 4> bleu = beam.bleu();
    for (size_t n = 0; n < 4; ++n) ev.figures["bleu_" + std::to_string(n + 1)] = bleu[n];
    ev.figures["bleu_4_greedy"] = greedy.bleu()[3];
    ev.figures["cider_d"] = t.task[kCider] / t.task[kImages];
    ev.figures["exact_match"] = t.task[kExact] / t.task[kImages];
    return ev;
  }
  std::string describe(int64_t epoch, const Evaluation& ev) const override {
    if (ev.figures.empty()) return {};
    char line[256];
    std::snprintf(line, sizeof line,
                  "epoch %lld: test BLEU-4 %.4f (greedy %.4f), BLEU-1 %.4f, CIDEr-D %.3f, exact "
                  "match %.2f%%, next-word accuracy %.2f%%",
                  static_cast<long long>(epoch), ev.figures.at("bleu_4"),
                  ev.figures.at("bleu_4_greedy"), ev.figures.at("bleu_1"), ev.figures.at("cider_d"),
                  100.0 * ev.figures.at("exact_match"), 100.0 * ev.accuracy);
    return line;
  }

 private:
  // Image i's reference sentences, as words.
  std::vector<Sentence> references(const ops::Tensor& tokens, int64_t i) const {
    const int64_t r = tokens.dim(1), l = tokens.dim(2);
    std::vector<Sentence> out;
    for (int64_t k = 0; k < r; ++k) {
      const int64_t* row = tokens.data<int64_t>() + (i * r + k) * l;
      out.push_back(split_words(models::decode_words(*vocab_, std::vector<int64_t>(row, row + l))));
    }
    return out;
  }
  // One reference per image (B, L), chosen by (epoch, dataset index).
  static ops::Tensor chosen(const models::Batch& b) {
    RM_THROW_IF(!b.tokens.defined() || b.tokens.ndim() != 3,
                "captioning needs reference captions (N, R, L)");
    const int64_t n = b.tokens.dim(0), r = b.tokens.dim(1), l = b.tokens.dim(2);
    ops::Tensor out = ops::Tensor::empty({n, l}, ops::DType::i64);
    for (int64_t i = 0; i < n; ++i) {
      const uint64_t key = mix(static_cast<uint64_t>(b.epoch) * 0x9e3779b97f4a7c15ULL +
                               static_cast<uint64_t>(b.indices[static_cast<size_t>(i)]));
      const auto k = static_cast<int64_t>(key % static_cast<uint64_t>(r));
      std::copy_n(b.tokens.data<int64_t>() + (i * r + k) * l, l, out.data<int64_t>() + i * l);
    }
    return out;
  }

  std::shared_ptr<const models::Vocabulary> vocab_;
  std::shared_ptr<const CiderCorpus> cider_;
};

}  // namespace

std::unique_ptr<Task> make_captioning_task(int) { return std::make_unique<CaptioningTask>(); }

}  // namespace ringmaster::training
