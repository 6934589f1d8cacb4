// Where a trained FCN goes wrong on the Fashion-MNIST composites (the
// experiments in docs/model-zoo.md): rebuilds the spec's model from a
// checkpoint, labels the spec's held-out test composites (or, with
// --validation, 1,000 composites of training items under a seed no run trains
// on) and breaks the pixel errors down
//   - by grey value: <= 40 only the texture takes (items are pasted above
//     40), 41..110 both, > 110 only items;
//   - by place: boundary (a 4-neighbour has another true label) or interior;
//   - by kind: item -> background, background -> item, item -> another item;
// and, per (image, true item class) group, whether the majority of its
// item-labelled pixels names the right class, with the mean IoU the model
// would get if every group's item-labelled pixels took their majority (an
// upper bound for making the labels of one item agree). --flip averages the
// softmax of the image and of its mirror image; --also adds more checkpoints
// of the same spec to the average (an ensemble). Run by hand:
//   build/bin/fcn_errors SPEC.json CHECKPOINT.safetensors [--flip] [--validation]
//       [--also CHECKPOINT ...]
#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <vector>

#include <CLI/CLI.hpp>

#include "models/dataset.h"
#include "models/model_builder.h"
#include "ops/add.h"
#include "ops/autograd.h"
#include "ops/softmax.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace {

namespace m = ringmaster::models;
namespace o = ringmaster::ops;
namespace training = ringmaster::training;

// (N, K, H, W) mirrored along W (a plain copy).
o::Tensor mirror(const o::Tensor& t) {
  o::Tensor p = t.to_plain().clone();
  const int64_t w = p.dim(3), rows = p.numel() / w;
  float* d = p.data<float>();
  for (int64_t r = 0; r < rows; ++r) std::reverse(d + r * w, d + (r + 1) * w);
  return p;
}

// Per-class intersection and union counts.
struct Iou {
  explicit Iou(int64_t k) : inter(static_cast<size_t>(k)), uni(static_cast<size_t>(k)) {}
  void add(int truth, int pred) {
    if (truth == pred) ++inter[static_cast<size_t>(truth)];
    ++uni[static_cast<size_t>(truth)];
    if (truth != pred) ++uni[static_cast<size_t>(pred)];
  }
  double mean() const {
    double s = 0;
    int present = 0;
    for (size_t k = 0; k < uni.size(); ++k) {
      if (uni[k] == 0) continue;
      s += static_cast<double>(inter[k]) / static_cast<double>(uni[k]);
      ++present;
    }
    return present > 0 ? s / present : 0.0;
  }
  std::vector<int64_t> inter, uni;
};

double pct(int64_t a, int64_t b) {
  return b > 0 ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"FCN error breakdown on the Fashion-MNIST composites"};
  std::string spec_path, checkpoint;
  bool flip = false, validation = false;
  app.add_option("spec", spec_path)->required();
  app.add_option("checkpoint", checkpoint)->required();
  app.add_flag("--flip", flip, "average with the mirror image's prediction");
  app.add_flag("--validation", validation, "composites of training items, seed 1000");
  std::vector<std::string> also;
  app.add_option("--also", also, "more checkpoints of the same spec, averaged");
  CLI11_PARSE(app, argc, argv);

  training::JobSpec spec = training::load_job_spec(spec_path);
  if (spec.data.dataset != "fashion-composites") {
    std::fprintf(stderr, "%s: data.dataset is %s, not fashion-composites\n", spec_path.c_str(),
                 spec.data.dataset.c_str());
    return 2;
  }
  spec.model.init = {};
  spec.model.freeze.clear();
  // The trainer's own test set (one training composite made, not thousands);
  // --validation: the same recipe on training items, under seed 1000.
  training::DataSpec d = spec.data;
  nlohmann::json& composites = d.options["composites"];
  if (!composites.is_object()) composites = nlohmann::json::object();
  const int64_t test_count = composites.value("test", int64_t{1000});
  composites["train"] = 1;
  if (validation) {
    composites["seed"] = 1000;  // training composites take the seed itself
    composites["train"] = test_count;
  }
  const training::TrainTestData data = training::load_data(d, spec.train.seed);
  const m::Dataset& test = validation ? data.train : data.test;
  const int64_t n = test.images.dim(2), classes = test.num_classes;
  std::mt19937_64 rng(1);
  const m::ModelConfig cfg{.in_channels = 1,
                           .num_classes = static_cast<int>(classes),
                           .image_size = static_cast<int>(n)};
  // The checkpoint, then --also's: their probabilities are summed.
  std::vector<std::shared_ptr<m::Module>> models;
  also.insert(also.begin(), checkpoint);
  for (const std::string& c : also) {
    m::ModelSpec ms = spec.model;
    ms.init.checkpoint = c;
    models.push_back(m::build_model_from_spec(ms, cfg, rng));
    models.back()->train(false);
  }
  o::NoGradGuard no_grad;

  // pixels[range][boundary], errors[range][boundary]
  std::array<std::array<int64_t, 2>, 3> pixels{}, errors{};
  int64_t to_background = 0, to_item = 0, to_other_item = 0, total_errors = 0;
  int64_t groups = 0, wrong_majority = 0, mixed = 0;
  Iou iou(classes), majority_iou(classes);
  const uint8_t* images = test.images.data<uint8_t>();
  const uint8_t* masks = test.masks.data<uint8_t>();
  m::BatchLoader loader(test, {.batch_size = 100, .shuffle = false});
  while (auto b = loader.next()) {
    o::Tensor prob;
    for (const auto& model : models) {
      o::Tensor q = o::softmax(model->forward(b->images).to_plain(), 1).to_plain();
      if (flip) q = o::add(q, mirror(o::softmax(model->forward(mirror(b->images)).to_plain(), 1)));
      prob = prob.defined() ? o::add(prob, q) : q;
    }
    prob = prob.to_plain();
    const float* p = prob.data<float>();
    for (size_t i = 0; i < b->indices.size(); ++i) {
      const int64_t s = b->indices[i];
      const uint8_t* img = images + s * n * n;
      const uint8_t* mask = masks + s * n * n;
      std::vector<int> pred(static_cast<size_t>(n * n));
      std::vector<std::vector<int64_t>> hist(static_cast<size_t>(classes),
                                             std::vector<int64_t>(static_cast<size_t>(classes)));
      for (int64_t px = 0; px < n * n; ++px) {
        int best = 0;
        for (int k = 1; k < classes; ++k) {
          const auto at = [&](int c) {
            return p[(static_cast<int64_t>(i) * classes + c) * n * n + px];
          };
          if (at(k) > at(best)) best = k;
        }
        pred[static_cast<size_t>(px)] = best;
        const int truth = mask[px];
        ++hist[static_cast<size_t>(truth)][static_cast<size_t>(best)];
        iou.add(truth, best);
        const int range = img[px] <= 40 ? 0 : img[px] <= 110 ? 1 : 2;
        const int64_t y = px / n, x = px % n;
        const bool boundary =
            (y > 0 && mask[px - n] != truth) || (y + 1 < n && mask[px + n] != truth) ||
            (x > 0 && mask[px - 1] != truth) || (x + 1 < n && mask[px + 1] != truth);
        ++pixels[static_cast<size_t>(range)][boundary];
        if (best == truth) continue;
        ++errors[static_cast<size_t>(range)][boundary];
        ++total_errors;
        if (truth == 0)
          ++to_item;
        else if (best == 0)
          ++to_background;
        else
          ++to_other_item;
      }
      // Majority of each true item class's item-labelled pixels.
      std::vector<int> majority(static_cast<size_t>(classes), 0);
      for (int t = 1; t < classes; ++t) {
        const auto& h = hist[static_cast<size_t>(t)];
        int64_t labelled = 0;
        int top = 1;
        for (int k = 1; k < classes; ++k) {
          labelled += h[static_cast<size_t>(k)];
          if (h[static_cast<size_t>(k)] > h[static_cast<size_t>(top)]) top = k;
        }
        if (labelled == 0) continue;
        majority[static_cast<size_t>(t)] = top;
        ++groups;
        wrong_majority += top != t;
        mixed += h[static_cast<size_t>(top)] < labelled;
      }
      for (int64_t px = 0; px < n * n; ++px) {
        const int truth = mask[px];
        int q = pred[static_cast<size_t>(px)];
        if (q != 0 && truth != 0 && majority[static_cast<size_t>(truth)] != 0)
          q = majority[static_cast<size_t>(truth)];
        majority_iou.add(truth, q);
      }
    }
  }
  const int64_t all = test.size() * n * n;
  std::printf("%s composites: %lld, pixel errors %lld (%.2f%%), mean IoU %.4f%s\n",
              validation ? "validation" : "test", static_cast<long long>(test.size()),
              static_cast<long long>(total_errors), pct(total_errors, all), iou.mean(),
              flip ? " (with the mirror image)" : "");
  const char* names[3] = {"grey <= 40 (texture only)", "grey 41-110 (either)",
                          "grey > 110 (item only)"};
  for (int r = 0; r < 3; ++r) {
    for (int bd = 0; bd < 2; ++bd) {
      const int64_t px = pixels[static_cast<size_t>(r)][bd],
                    er = errors[static_cast<size_t>(r)][bd];
      std::printf("  %-26s %-8s pixels %8lld  wrong %7lld (%5.2f%%)  share of errors %5.1f%%\n",
                  names[r], bd ? "boundary" : "interior", static_cast<long long>(px),
                  static_cast<long long>(er), pct(er, px), pct(er, total_errors));
    }
  }
  std::printf(
      "  item -> background %lld (%.1f%%), background -> item %lld (%.1f%%), item -> another "
      "item %lld (%.1f%%)\n",
      static_cast<long long>(to_background), pct(to_background, total_errors),
      static_cast<long long>(to_item), pct(to_item, total_errors),
      static_cast<long long>(to_other_item), pct(to_other_item, total_errors));
  std::printf(
      "item groups %lld: majority wrong %lld (%.1f%%), mixed labels %lld (%.1f%%); "
      "mean IoU with each group at its majority: %.4f\n",
      static_cast<long long>(groups), static_cast<long long>(wrong_majority),
      pct(wrong_majority, groups), static_cast<long long>(mixed), pct(mixed, groups),
      majority_iou.mean());
  return 0;
}
