// digits: scikit-learn's 1,797 handwritten 8x8 digits (data/digits.csv.gz,
// extracted by scripts/install-deps.sh), split by seed: test_fraction
// (default 0.28) and split_seed (default train.seed).
#include "training/data_sets.h"

namespace ringmaster::training {

DatasetEntry digits_data_set() {
  return {TaskKind::kClassification, [](models::SpecReader& r, const std::string& path, TaskKind&) {
            const HeldOutSplit split = read_held_out_split(r, 280);
            const std::string file = path.empty() ? "data/digits.csv.gz" : path;
            return [file, split](uint64_t seed) {
              return split.apply(models::load_digits_csv(file), seed);
            };
          }};
}

}  // namespace ringmaster::training
