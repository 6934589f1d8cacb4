// The table of data sets (see dataset_registry.h), one line each, and what
// every data set shares: data.path, the limits and the held-out split.
#include "training/dataset_registry.h"

#include <algorithm>
#include <map>

#include "ops/check.h"
#include "training/data_sets.h"

namespace ringmaster::training {
namespace {

const std::map<std::string, DatasetEntry>& registry() {
  static const std::map<std::string, DatasetEntry> table = {
      {"cifar-10", cifar10_data_set()},
      {"cifar-100", cifar100_data_set()},
      {"coco-captions", coco_captions_data_set()},
      {"coco-instances", coco_instances_data_set()},
      {"digits", digits_data_set()},
      {"fashion-captions", fashion_captions_data_set()},
      {"fashion-composites", fashion_composites_data_set()},
      {"fashion-mnist", fashion_mnist_data_set()},
      {"fortunes", fortunes_data_set()},
      {"image-folder", image_folder_data_set()},
      {"lfw-subset", lfw_subset_data_set()},
  };
  return table;
}

const DatasetEntry* find_entry(const std::string& name, models::SpecReader& r) {
  auto it = registry().find(name);
  if (it != registry().end()) return &it->second;
  std::string list;
  for (const std::string& n : dataset_names()) list += (list.empty() ? "" : ", ") + n;
  r.problem("dataset", "must be one of " + list + ", got \"" + name + "\"");
  return nullptr;
}

// The first N samples of each class, in data set order (few-shot).
models::Dataset per_class(const models::Dataset& ds, int64_t n) {
  std::vector<int64_t> taken(static_cast<size_t>(ds.num_classes)), keep;
  for (int64_t i = 0; i < ds.size(); ++i) {
    const auto c = static_cast<size_t>(ds.labels[static_cast<size_t>(i)]);
    if (taken[c] < n) {
      ++taken[c];
      keep.push_back(i);
    }
  }
  return models::subset(ds, keep);
}

// What the models assume of any data set, checked once it is loaded, so
// that files of another geometry are refused by name here rather than
// breaking an op's invariant mid-step (the models take square images, of
// one size in both splits, and the training split's classes).
void check_geometry(const TrainTestData& d, const std::string& name) {
  const ops::Tensor& train = d.train.images;
  const ops::Tensor& test = d.test.images;
  auto image_shape = [](const ops::Tensor& t) {  // (C, H, W) of (N, C, H, W)
    return ops::Shape(t.shape().begin() + 1, t.shape().end());
  };
  if (train.defined()) {
    RM_THROW_IF(train.dim(2) != train.dim(3), "data set '", name, "': the images are ",
                train.dim(2), " x ", train.dim(3),
                " (height x width); the models take square images");
    RM_THROW_IF(test.defined() && test.dim(0) > 0 && image_shape(test) != image_shape(train),
                "data set '", name, "': the test images are ", ops::shape_str(image_shape(test)),
                " (channels, height, width) but the training images ",
                ops::shape_str(image_shape(train)), "; both splits must share one size");
  }
  RM_THROW_IF(d.test.num_classes > d.train.num_classes, "data set '", name,
              "': the test split has class ", d.test.num_classes - 1,
              " but the training split's classes are 0..", d.train.num_classes - 1);
}

}  // namespace

std::string unknown_field_reason(const std::string& dataset) {
  return "is not a field of data set \"" + dataset + "\"";
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : registry()) names.push_back(name);
  return names;
}

std::optional<TaskKind> read_dataset_options(const std::string& name, const std::string& path,
                                             models::SpecReader& r) {
  const DatasetEntry* e = find_entry(name, r);
  if (e == nullptr) return std::nullopt;
  TaskKind task = e->task;
  e->read(r, path, task);
  return task;
}

TrainTestData load_data(const DataSpec& d, uint64_t train_seed) {
  std::vector<models::SpecProblem> problems;
  DatasetLoader loader;
  {
    models::SpecReader r(d.options, "/data", problems);
    r.set_unknown_reason(unknown_field_reason(d.dataset));
    TaskKind task = TaskKind::kClassification;
    if (const DatasetEntry* e = find_entry(d.dataset, r)) loader = e->read(r, d.path, task);
  }
  RM_THROW_IF(!problems.empty(), "data set '", d.dataset, "': ", models::format_problems(problems));
  TrainTestData out = loader(train_seed);
  check_geometry(out, d.dataset);
  if (d.train_limit > 0)
    out.train = models::subset(out.train, std::min(d.train_limit, out.train.size()));
  if (d.test_limit > 0)
    out.test = models::subset(out.test, std::min(d.test_limit, out.test.size()));
  if (d.train_per_class > 0) out.train = per_class(out.train, d.train_per_class);
  return out;
}

HeldOutSplit read_held_out_split(models::SpecReader& r, int64_t default_test_permille) {
  HeldOutSplit s;
  double fraction = -1.0;
  r.number("test_fraction", fraction, 0.0, 0.9, true);
  s.test_permille =
      fraction > 0.0 ? static_cast<int64_t>(fraction * 1000.0 + 0.5) : default_test_permille;
  r.integer("split_seed", s.split_seed, 0);
  return s;
}

TrainTestData HeldOutSplit::apply(const models::Dataset& all, uint64_t train_seed) const {
  const int64_t test_count = all.size() * test_permille / 1000;
  const uint64_t seed = split_seed >= 0 ? static_cast<uint64_t>(split_seed) : train_seed;
  auto [train, test] = models::split(all, all.size() - test_count, seed);
  return {std::move(train), std::move(test)};
}

}  // namespace ringmaster::training
