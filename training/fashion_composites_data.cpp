// fashion-composites: Fashion-MNIST items pasted on textures with exact masks
// (models/composites.h); training composites from the training items, test
// composites from the held-out test items (seed + 1). Its own fields:
// `targets` ("masks": segmentation, the default; "boxes": detection, each
// item's box of its visible pixels and its class) and `composites` {size,
// train, test, max_items, seed, scale_min, scale_max, min_visible}.
#include <cstdio>
#include <string>

#include "models/composites.h"
#include "training/data_sets.h"

namespace ringmaster::training {
namespace {

std::string decimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

void read_composites(models::SpecReader& r, models::CompositeOptions& train, int64_t& test_count) {
  const nlohmann::json* c = r.raw("composites");
  if (c == nullptr) return;
  models::SpecReader cr(*c, r.child("composites"), r.problems());
  cr.integer("size", train.size, 28, 1024);
  cr.integer("train", train.count, 1, 1000000);
  cr.integer("test", test_count, 1, 1000000);
  cr.integer("max_items", train.max_items, 1, 64);
  cr.integer("seed", train.seed, 0);
  cr.number("scale_min", train.scale_min, 0.0, 36.0, true);
  cr.number("scale_max", train.scale_max, 0.0, 36.0, true);
  cr.number("min_visible", train.min_visible, 0.0, 1.0);
  if (train.scale_max < train.scale_min)
    cr.problem("scale_max", "must be >= scale_min (" + decimal(train.scale_min) + ")");
  // Items are 28 px (Fashion-MNIST); the canvas must hold the largest.
  if (28.0 * train.scale_max > static_cast<double>(train.size) + 0.5)
    cr.problem("scale_max", "makes items of up to " +
                                std::to_string(static_cast<int64_t>(28.0 * train.scale_max + 0.5)) +
                                " px, larger than size " + std::to_string(train.size));
}

}  // namespace

DatasetEntry fashion_composites_data_set() {
  return {TaskKind::kSegmentation,
          [](models::SpecReader& r, const std::string& path, TaskKind& task) {
            models::CompositeOptions train{.count = 4000, .size = 64, .max_items = 3, .seed = 1};
            int64_t test_count = 1000;
            std::string targets = "masks";
            r.string("targets", targets, {"masks", "boxes"});
            train.instances = targets == "boxes";
            task = train.instances ? TaskKind::kDetection : TaskKind::kSegmentation;
            read_composites(r, train, test_count);
            const std::string dir = path.empty() ? "/usr/share/datasets/fashion-mnist" : path;
            return [dir, train, test_count](uint64_t) {
              models::CompositeOptions test = train;
              test.count = test_count;
              test.seed = train.seed + 1;
              TrainTestData out{
                  models::make_composites(models::load_idx(dir + "/train-images-idx3-ubyte.gz",
                                                           dir + "/train-labels-idx1-ubyte.gz"),
                                          train),
                  models::make_composites(models::load_idx(dir + "/t10k-images-idx3-ubyte.gz",
                                                           dir + "/t10k-labels-idx1-ubyte.gz"),
                                          test)};
              std::vector<std::string> names = {"background"};
              for (const std::string& n : models::fashion_mnist_class_names()) names.push_back(n);
              if (static_cast<int64_t>(names.size()) == out.train.num_classes)
                out.train.class_names = out.test.class_names = names;
              return out;
            };
          }};
}

}  // namespace ringmaster::training
