// `ringmaster caption` (see caption_command.h). The vocabulary is the one
// the model trained with: the spec's data set is built again (a pure
// function of the spec). Images are read as grey or RGB (the data's
// channels, image_io.h) and resized to the data's size; pixels are scaled
// by 1/255 as the trainer does. Exit codes: 0 captioned, 1 data, image,
// checkpoint or model failure, 2 bad spec or usage.
#include "cli/caption_command.h"

#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "cli/image_io.h"
#include "cli/trained_model.h"
#include "models/nic.h"
#include "models/text_corpus.h"
#include "ops/device_memory.h"
#include "training/caption_metrics.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace ringmaster::cli {
namespace {

struct CaptionOptions {
  std::string spec_path, checkpoint, write_images;
  std::vector<std::string> images;
  int64_t beam = 0;  // 0: the spec's
  int64_t test = 0;
  double length_normalization = -1.0;  // < 0: the spec's
};

// The first o.test held-out images: each caption with its references, then
// the corpus scores of those captions.
void caption_test_images(models::Captioner& captioner, const models::Dataset& test,
                         const models::DecodeOptions& d, const CaptionOptions& o) {
  const int64_t count = std::min(o.test, test.size());
  std::vector<std::vector<training::Sentence>> references;
  std::vector<training::Sentence> hypotheses;
  for (int64_t i = 0; i < count; ++i) {
    const std::string caption =
        models::decode_words(*test.vocab, captioner.caption(data_image(test, i), d).at(0));
    std::printf("test %lld: %s\n", static_cast<long long>(i), caption.c_str());
    hypotheses.push_back(training::split_words(caption));
    references.emplace_back();
    const int64_t r = test.tokens.dim(1), l = test.tokens.dim(2);
    for (int64_t k = 0; k < r; ++k) {
      const int64_t* row = test.tokens.data<int64_t>() + (i * r + k) * l;
      const std::string ref = models::decode_words(*test.vocab, std::vector<int64_t>(row, row + l));
      std::printf("  reference: %s\n", ref.c_str());
      references.back().push_back(training::split_words(ref));
    }
    if (!o.write_images.empty())
      write_png(data_picture(test, i), o.write_images + "/test-" + std::to_string(i) + ".png");
  }
  const std::array<double, 4> bleu = training::corpus_bleu(references, hypotheses);
  std::printf(
      "%lld test images, beam %lld, length normalization %g: BLEU-1 %.4f, BLEU-2 %.4f, "
      "BLEU-3 %.4f, BLEU-4 %.4f, CIDEr-D %.4f (document frequencies from these images' "
      "references), exact match %.4f\n",
      static_cast<long long>(count), static_cast<long long>(d.beam_size), d.length_normalization,
      bleu[0], bleu[1], bleu[2], bleu[3], training::cider_d(references, hypotheses),
      training::exact_match(references, hypotheses));
}

int run_caption(const CaptionOptions& o) {
  const std::optional<training::JobSpec> spec = load_spec_of_task(
      "caption", o.spec_path, training::TaskKind::kCaptioning, "captioned images");
  if (!spec) return 2;
  if (o.images.empty() == (o.test == 0)) {
    std::fprintf(stderr, "ringmaster caption: give image files or --test N (one of them)\n");
    return 2;
  }
  try {
    if (spec->train.threads > 0) ops::set_cpu_threads(static_cast<int>(spec->train.threads));
    const training::TrainTestData data = training::load_data(spec->data, spec->train.seed);
    const models::Dataset& test = data.test;
    auto model = load_trained_model(*spec, test, o.checkpoint, "encoder");
    auto* captioner = dynamic_cast<models::Captioner*>(model.get());
    if (captioner == nullptr)
      throw ops::Error("model \"" + spec->model.name + "\" does not caption");
    models::DecodeOptions d = captioner->decode_options();
    if (o.beam > 0) d.beam_size = o.beam;
    if (!o.write_images.empty()) std::filesystem::create_directories(o.write_images);
    if (o.length_normalization >= 0.0) d.length_normalization = o.length_normalization;
    if (o.test > 0) caption_test_images(*captioner, test, d, o);
    for (const std::string& path : o.images) {
      const auto words =
          captioner->caption(read_image_resized(path, test.images.dim(1), test.images.dim(2)), d)
              .at(0);
      std::printf("%s: %s\n", path.c_str(), models::decode_words(*test.vocab, words).c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster caption: %s\n", e.what());
    return 1;
  }
}

}  // namespace

void add_caption_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<CaptionOptions>();
  CLI::App* cmd = app.add_subcommand("caption", "Caption images with a trained captioner (nic)");
  cmd->add_option("spec", opts->spec_path, "The job spec (JSON) the model trained with")
      ->required();
  cmd->add_option("checkpoint", opts->checkpoint, "Its checkpoint (.safetensors)")->required();
  cmd->add_option("images", opts->images,
                  "Image files (PNG, JPEG, PGM ...), resized to the data's size");
  cmd->add_option("--beam", opts->beam, "Beam size (1: greedy; default: the spec's beam_size)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--test", opts->test, "Caption the first N held-out images, with references")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--length-normalization", opts->length_normalization,
                  "Rank finished beams by log-probability / length^A (default: the spec's)")
      ->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--write-images", opts->write_images,
                  "With --test: write those images here as test-<i>.png");
  cmd->callback([opts, &exit_code] { exit_code = run_caption(*opts); });
}

}  // namespace ringmaster::cli
