// `ringmaster classify` (see classify_command.h). The data set is built again
// from the spec (a pure function of it) for the images' channels, size and
// class names and, with --test, the held-out images and their labels. Exit
// codes: 0 classified, 1 data, image, checkpoint or model failure, 2 bad
// spec or usage.
#include "cli/classify_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/image_io.h"
#include "cli/trained_model.h"
#include "ops/autograd.h"
#include "ops/device_memory.h"
#include "ops/softmax.h"
#include "training/dataset_registry.h"

namespace ringmaster::cli {
namespace {

struct ClassifyOptions {
  std::string spec_path, checkpoint;
  std::vector<std::string> images;
  int64_t test = 0;
  int64_t top = 3;
  bool json = false;
};

struct Ranked {
  int64_t label;
  double probability;
};

// The model's classes for one (1, C, S, S) image, most probable first.
std::vector<Ranked> classify(models::Module& model, const ops::Tensor& image) {
  ops::NoGradGuard no_grad;
  const ops::Tensor p =
      ops::softmax(model.forward(image).to(ops::Device::cpu()).to_plain(), 1).to_plain();
  std::vector<Ranked> out;
  for (int64_t k = 0; k < p.dim(1); ++k) out.push_back({k, p.data<float>()[k]});
  std::stable_sort(out.begin(), out.end(),
                   [](const Ranked& a, const Ranked& b) { return a.probability > b.probability; });
  return out;
}

class Reporter {
 public:
  Reporter(const ClassifyOptions& o, const models::Dataset& ds) : o_(o), ds_(ds) {}

  // One image's ranking; `truth` its label (-1: unknown).
  void add(const std::string& name, const std::vector<Ranked>& ranked, int64_t truth) {
    const size_t k = std::min(static_cast<size_t>(o_.top), ranked.size());
    if (truth >= 0) {
      ++scored_;
      top1_ += ranked[0].label == truth;
      topk_ += std::any_of(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(k),
                           [&](const Ranked& r) { return r.label == truth; });
    }
    if (o_.json) {
      nlohmann::json list = nlohmann::json::array();
      for (size_t i = 0; i < k; ++i)
        list.push_back({{"class", class_name(ds_, ranked[i].label)},
                        {"label", ranked[i].label},
                        {"probability", ranked[i].probability}});
      nlohmann::json entry = {{"image", name}, {"classes", list}};
      if (truth >= 0) entry["truth"] = class_name(ds_, truth);
      doc_["images"].push_back(entry);
      return;
    }
    std::string line = name + (truth >= 0 ? " (truth: " + class_name(ds_, truth) + ")" : "") + ":";
    for (size_t i = 0; i < k; ++i) {
      char p[32];
      std::snprintf(p, sizeof p, " %.3f", ranked[i].probability);
      line += (i ? ", " : " ") + class_name(ds_, ranked[i].label) + p;
    }
    std::printf("%s\n", line.c_str());
  }
  void finish() {
    const double n = static_cast<double>(std::max<int64_t>(scored_, 1));
    if (o_.json) {
      if (scored_ > 0) {
        doc_["test_images"] = scored_;
        doc_["top1_accuracy"] = static_cast<double>(top1_) / n;
        doc_["topk_accuracy"] = static_cast<double>(topk_) / n;
        doc_["k"] = o_.top;
      }
      std::printf("%s\n", doc_.dump(2).c_str());
    } else if (scored_ > 0) {
      std::printf("%lld test images: top-1 accuracy %.4f, top-%lld accuracy %.4f\n",
                  static_cast<long long>(scored_), static_cast<double>(top1_) / n,
                  static_cast<long long>(o_.top), static_cast<double>(topk_) / n);
    }
  }

 private:
  const ClassifyOptions& o_;
  const models::Dataset& ds_;
  nlohmann::json doc_ = {{"images", nlohmann::json::array()}};
  int64_t scored_ = 0, top1_ = 0, topk_ = 0;
};

int run_classify(const ClassifyOptions& o) {
  const std::optional<training::JobSpec> spec = load_spec_of_task(
      "classify", o.spec_path, training::TaskKind::kClassification, "images with a class each");
  if (!spec) return 2;
  if (o.images.empty() == (o.test == 0)) {
    std::fprintf(stderr, "ringmaster classify: give image files or --test N (one of them)\n");
    return 2;
  }
  try {
    if (spec->train.threads > 0) ops::set_cpu_threads(static_cast<int>(spec->train.threads));
    const training::TrainTestData data = training::load_data(spec->data, spec->train.seed);
    const models::Dataset& train = data.train;
    const auto model = load_trained_model(*spec, train, o.checkpoint, "");
    Reporter report(o, train);
    const int64_t count = std::min(o.test, data.test.size());
    for (int64_t i = 0; i < count; ++i)
      report.add("test-" + std::to_string(i), classify(*model, data_image(data.test, i)),
                 data.test.labels[static_cast<size_t>(i)]);
    const int64_t c = train.images.dim(1), s = train.images.dim(2);
    for (const std::string& path : o.images)
      report.add(path, classify(*model, read_image_resized(path, c, s)), -1);
    report.finish();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster classify: %s\n", e.what());
    return 1;
  }
}

}  // namespace

void add_classify_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<ClassifyOptions>();
  CLI::App* cmd = app.add_subcommand("classify", "Classify images with a trained classifier");
  cmd->add_option("spec", opts->spec_path, "The job spec (JSON) the model trained with")
      ->required();
  cmd->add_option("checkpoint", opts->checkpoint, "Its checkpoint (.safetensors)")->required();
  cmd->add_option("images", opts->images,
                  "Image files (PNG, JPEG, BMP ...), resized to the data's size");
  cmd->add_option("--test", opts->test, "Classify the first N held-out images, with accuracy")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--top", opts->top, "Show the K most probable classes (3)")
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("--json", opts->json, "Print one JSON document");
  cmd->callback([opts, &exit_code] { exit_code = run_classify(*opts); });
}

}  // namespace ringmaster::cli
