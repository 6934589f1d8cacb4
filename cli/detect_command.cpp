// `ringmaster detect` (see detect_command.h). The data set is built again
// from the spec (a pure function of it) for the images' shape, the class
// names and, with --test, the held-out images and their boxes. Exit codes:
// 0 detected, 1 data, image, checkpoint or model failure, 2 bad spec or
// usage.
#include "cli/detect_command.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/box_drawing.h"
#include "cli/image_io.h"
#include "cli/trained_model.h"
#include "ops/autograd.h"
#include "ops/device_memory.h"
#include "training/dataset_registry.h"
#include "training/detection_metrics.h"
#include "training/job_spec.h"

namespace ringmaster::cli {
namespace {

struct DetectOptions {
  std::string spec_path, checkpoint, out, write_images;
  std::vector<std::string> images;
  int64_t test = 0;
  double min_score = 0.5;
  int64_t scale = 4;
  bool json = false;
};

// The model's detections of one (1, C, S, S) image, every one of them; the
// seconds its forward took are added to `seconds`.
std::vector<training::Detection> detect(models::Module& model, const ops::Tensor& image,
                                        double& seconds) {
  ops::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  const ops::Tensor rows = model.forward(image).to(ops::Device::cpu()).to_plain();  // (1, D, 6)
  seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<training::Detection> out;
  for (int64_t j = 0; j < rows.dim(1); ++j) {
    const float* r = rows.data<float>() + j * 6;
    if (r[5] < 0.0f) break;
    out.push_back({{r[0], r[1], r[2], r[3]}, static_cast<int>(r[5]), r[4]});
  }
  return out;
}

// The truth (boxes) of the first n held-out images, as the loader gives it.
std::vector<std::vector<training::GroundTruth>> truth_of(const models::Dataset& test, int64_t n) {
  std::vector<std::vector<training::GroundTruth>> out;
  if (n == 0) return out;
  models::BatchLoader loader(models::subset(test, n),
                             {.batch_size = n, .shuffle = false, .prefetch = false});
  const auto b = loader.next();
  const int64_t m = b->box_classes.dim(1);
  for (int64_t i = 0; i < n; ++i) {
    out.emplace_back();
    for (int64_t j = 0; j < m; ++j) {
      const int64_t c = b->box_classes.data<int64_t>()[i * m + j];
      const float* r = b->boxes.data<float>() + (i * m + j) * 4;
      if (c >= 0) out.back().push_back({{r[0], r[1], r[2], r[3]}, static_cast<int>(c)});
    }
  }
  return out;
}

class Reporter {
 public:
  Reporter(const DetectOptions& o, const models::Dataset& ds) : o_(o), ds_(ds) {}

  void add(const std::string& name, const Picture& picture,
           const std::vector<training::Detection>& found) {
    nlohmann::json list = nlohmann::json::array();
    Picture drawn = o_.out.empty() ? Picture{} : enlarged_rgb(picture, o_.scale);
    if (!o_.json) std::printf("%s:\n", name.c_str());
    for (const training::Detection& d : found) {
      if (d.score < o_.min_score) continue;
      const std::string cls = class_name(ds_, d.label);
      if (o_.json) {
        list.push_back({{"class", cls},
                        {"label", d.label},
                        {"score", d.score},
                        {"box", {d.box.x1, d.box.y1, d.box.x2, d.box.y2}}});
      } else {
        std::printf("  %-10s %.3f  box %.1f %.1f %.1f %.1f\n", cls.c_str(), d.score, d.box.x1,
                    d.box.y1, d.box.x2, d.box.y2);
      }
      if (!o_.out.empty()) draw(drawn, d, cls);
    }
    if (o_.json) doc_["images"].push_back({{"image", name}, {"detections", list}});
    if (!o_.out.empty()) write_png(drawn, o_.out + "/" + file_name(name) + ".png");
  }
  void scores(const training::DetectionScores& s, int64_t images) {
    if (o_.json) {
      doc_["map50"] = s.map50;
      doc_["map"] = s.map;
    } else {
      std::printf("%lld test images: mAP@0.5 %.4f, mAP@[.5:.95] %.4f\n",
                  static_cast<long long>(images), s.map50, s.map);
    }
  }
  void finish(int64_t images, double seconds) {
    const double rate = seconds > 0.0 ? static_cast<double>(images) / seconds : 0.0;
    if (o_.json) {
      doc_["images_per_second"] = rate;
      std::printf("%s\n", doc_.dump(2).c_str());
    } else {
      std::printf("%lld images in %.2f s of forward passes: %.2f img/s (one at a time)\n",
                  static_cast<long long>(images), seconds, rate);
    }
  }

 private:
  void draw(Picture& p, const training::Detection& d, const std::string& cls) const {
    const Rgb colour = class_colour(d.label);
    const auto at = [&](float v) { return static_cast<int64_t>(v * static_cast<float>(o_.scale)); };
    draw_rectangle(p, at(d.box.x1), at(d.box.y1), at(d.box.x2), at(d.box.y2), colour, 2);
    char label[64];
    std::snprintf(label, sizeof label, "%s %.2f", cls.c_str(), d.score);
    const int64_t size = o_.scale >= 3 ? 2 : 1;  // the font is 7 px high
    draw_label(p, at(d.box.x1), std::max<int64_t>(0, at(d.box.y1) - 12 * size), label, colour,
               size);
  }
  static std::string file_name(const std::string& name) {
    return std::filesystem::path(name).stem().string();
  }

  const DetectOptions& o_;
  const models::Dataset& ds_;
  nlohmann::json doc_ = {{"images", nlohmann::json::array()}};
};

int run_detect(const DetectOptions& o) {
  const std::optional<training::JobSpec> spec =
      load_spec_of_task("detect", o.spec_path, training::TaskKind::kDetection, "images with boxes");
  if (!spec) return 2;
  if (o.images.empty() == (o.test == 0)) {
    std::fprintf(stderr, "ringmaster detect: give image files or --test N (one of them)\n");
    return 2;
  }
  try {
    if (spec->train.threads > 0) ops::set_cpu_threads(static_cast<int>(spec->train.threads));
    const training::TrainTestData data = training::load_data(spec->data, spec->train.seed);
    const models::Dataset& test = data.test;
    const auto model = load_trained_model(*spec, test, o.checkpoint, "backbone");
    if (!o.out.empty()) std::filesystem::create_directories(o.out);
    if (!o.write_images.empty()) std::filesystem::create_directories(o.write_images);
    Reporter report(o, test);
    std::vector<std::vector<training::Detection>> all;
    double seconds = 0.0;
    const int64_t count = std::min(o.test, test.size());
    const std::vector<std::vector<training::GroundTruth>> truth = truth_of(test, count);
    for (int64_t i = 0; i < count; ++i) {
      all.push_back(detect(*model, data_image(test, i), seconds));
      report.add("test-" + std::to_string(i), data_picture(test, i), all.back());
      if (!o.write_images.empty())
        write_png(data_picture(test, i), o.write_images + "/test-" + std::to_string(i) + ".png");
    }
    if (!all.empty())
      report.scores(training::evaluate_detections(all, truth, test.num_classes),
                    static_cast<int64_t>(all.size()));
    const int64_t c = test.images.dim(1), s = test.images.dim(2);
    for (const std::string& path : o.images)
      report.add(path, read_picture(path, c), detect(*model, read_image(path, c, s), seconds));
    report.finish(static_cast<int64_t>(all.size() + o.images.size()), seconds);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster detect: %s\n", e.what());
    return 1;
  }
}

}  // namespace

void add_detect_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<DetectOptions>();
  CLI::App* cmd =
      app.add_subcommand("detect", "Find objects in images with a trained detector (faster_rcnn)");
  cmd->add_option("spec", opts->spec_path, "The job spec (JSON) the model trained with")
      ->required();
  cmd->add_option("checkpoint", opts->checkpoint, "Its checkpoint (.safetensors)")->required();
  cmd->add_option("images", opts->images, "Image files of the data's size (PNG, JPEG, PGM ...)");
  cmd->add_option("--test", opts->test, "Detect in the first N held-out images, with their mAP")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--out", opts->out, "Write each image with its boxes drawn here (PNG)");
  cmd->add_flag("--json", opts->json, "Print one JSON document");
  cmd->add_option("--write-images", opts->write_images,
                  "With --test: write those images, as they are, here as test-<i>.png");
  cmd->add_option("--min-score", opts->min_score, "Show detections scoring at least this (0.5)")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--scale", opts->scale, "Enlarge the written images this many times (4)")
      ->check(CLI::Range(1, 16));
  cmd->callback([opts, &exit_code] { exit_code = run_detect(*opts); });
}

}  // namespace ringmaster::cli
