// lfw-subset: scikit-image's 200 face / non-face crops (models/lfw_subset.h),
// resized to image_size (default 150, 8..1024) and split by seed:
// test_fraction (default 0.5) and split_seed (default train.seed).
#include "models/lfw_subset.h"
#include "training/data_sets.h"

namespace ringmaster::training {

DatasetEntry lfw_subset_data_set() {
  return {TaskKind::kClassification, [](models::SpecReader& r, const std::string& path, TaskKind&) {
            const HeldOutSplit split = read_held_out_split(r, 500);
            int64_t image_size = 150;
            r.integer("image_size", image_size, 8, 1024);
            const std::string file = path.empty() ? "data/lfw_subset.npy" : path;
            return [file, split, image_size](uint64_t seed) {
              return split.apply(models::load_lfw_subset(file, image_size), seed);
            };
          }};
}

}  // namespace ringmaster::training
