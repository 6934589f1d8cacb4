// `ringmaster caption` (see caption_command.h). The vocabulary is the one
// the model trained with: the spec's data set is built again (a pure
// function of the spec). Images are read with stb_image as grey or RGB (the
// data's channels) and must have the data's size; pixels are scaled by
// 1/255 as the trainer does. Exit codes: 0 captioned, 1 data, image,
// checkpoint or model failure, 2 bad spec or usage.
#include "cli/caption_command.h"

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "models/model_builder.h"
#include "models/nic.h"
#include "models/safetensors.h"
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

// (1, C, S, S) f32 of an image file, checked against the data's shape.
ops::Tensor read_image(const std::string& path, int64_t c, int64_t s) {
  int w = 0, h = 0, got = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(
      stbi_load(path.c_str(), &w, &h, &got, static_cast<int>(c)), stbi_image_free);
  if (px == nullptr)
    throw ops::Error(path + ": not an image stb_image reads (" +
                     std::string(stbi_failure_reason()) + ")");
  if (w != s || h != s)
    throw ops::Error(path + ": " + std::to_string(w) + "x" + std::to_string(h) +
                     " pixels; the model reads " + std::to_string(s) + "x" + std::to_string(s));
  ops::Tensor x = ops::Tensor::empty({1, c, s, s});
  for (int64_t k = 0; k < c; ++k)
    for (int64_t i = 0; i < s * s; ++i)
      x.data<float>()[k * s * s + i] = static_cast<float>(px.get()[i * c + k]) / 255.0f;
  return x;
}

// Image i of a u8 (N, C, S, S) data set, as the trainer feeds it.
ops::Tensor data_image(const models::Dataset& ds, int64_t i) {
  const int64_t per = ds.images.numel() / ds.size();
  ops::Tensor x = ops::Tensor::empty({1, ds.images.dim(1), ds.images.dim(2), ds.images.dim(3)});
  for (int64_t j = 0; j < per; ++j)
    x.data<float>()[j] = static_cast<float>(ds.images.data<uint8_t>()[i * per + j]) / 255.0f;
  return x;
}

void write_png(const models::Dataset& ds, int64_t i, const std::string& path) {
  const int64_t c = ds.images.dim(1), s = ds.images.dim(2);
  std::vector<uint8_t> px(static_cast<size_t>(s * s * c));
  for (int64_t k = 0; k < c; ++k)
    for (int64_t j = 0; j < s * s; ++j)
      px[static_cast<size_t>(j * c + k)] = ds.images.data<uint8_t>()[(i * c + k) * s * s + j];
  if (stbi_write_png(path.c_str(), static_cast<int>(s), static_cast<int>(s), static_cast<int>(c),
                     px.data(), static_cast<int>(s * c)) == 0)
    throw ops::Error("cannot write " + path);
}

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
      write_png(test, i, o.write_images + "/test-" + std::to_string(i) + ".png");
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
  training::JobSpec spec;
  try {
    spec = training::load_job_spec(o.spec_path);
  } catch (const models::SpecError& e) {
    std::fprintf(stderr, "ringmaster caption: invalid spec %s:\n%s\n", o.spec_path.c_str(),
                 e.what());
    return 2;
  }
  if (spec.data.task != training::TaskKind::kCaptioning) {
    std::fprintf(stderr, "ringmaster caption: %s: data set \"%s\" is %s, not captioned images\n",
                 o.spec_path.c_str(), spec.data.dataset.c_str(),
                 training::to_string(spec.data.task));
    return 2;
  }
  if (o.images.empty() == (o.test == 0)) {
    std::fprintf(stderr, "ringmaster caption: give image files or --test N (one of them)\n");
    return 2;
  }
  try {
    if (spec.train.threads > 0) ops::set_cpu_threads(static_cast<int>(spec.train.threads));
    const training::TrainTestData data = training::load_data(spec.data, spec.train.seed);
    const models::Dataset& test = data.test;
    std::mt19937_64 rng(spec.train.seed);
    models::ModelConfig cfg;
    cfg.in_channels = static_cast<int>(test.images.dim(1));
    cfg.image_size = static_cast<int>(test.images.dim(2));
    cfg.num_classes = test.num_classes;
    models::ModelSpec model_spec = spec.model;
    model_spec.init = {};  // the checkpoint has every weight, the encoder's too
    if (auto e = model_spec.options.find("encoder");
        e != model_spec.options.end() && e->is_object())
      e->erase("init");
    auto model = models::build_model_from_spec(model_spec, cfg, rng);
    auto* captioner = dynamic_cast<models::Captioner*>(model.get());
    if (captioner == nullptr)
      throw ops::Error("model \"" + spec.model.name + "\" does not caption");
    model->load_state_dict(models::load_safetensors(o.checkpoint).tensors);
    models::DecodeOptions d = captioner->decode_options();
    if (o.beam > 0) d.beam_size = o.beam;
    if (!o.write_images.empty()) std::filesystem::create_directories(o.write_images);
    if (o.length_normalization >= 0.0) d.length_normalization = o.length_normalization;
    if (o.test > 0) caption_test_images(*captioner, test, d, o);
    for (const std::string& path : o.images) {
      const auto words =
          captioner->caption(read_image(path, cfg.in_channels, cfg.image_size), d).at(0);
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
  cmd->add_option("images", opts->images, "Image files of the data's size (PNG, JPEG, PGM ...)");
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
