// fashion-composites (segmentation): Fashion-MNIST items pasted on textures
// with exact masks (models/composites.h); training composites from the
// training items, test composites from the held-out test items (seed + 1).
// Its own field: `composites` {size, train, test, max_items, seed}.
#include "models/composites.h"
#include "training/data_sets.h"

namespace ringmaster::training {

DatasetEntry fashion_composites_data_set() {
  return {TaskKind::kSegmentation, [](models::SpecReader& r, const std::string& path) {
            models::CompositeOptions train{.count = 4000, .size = 64, .max_items = 3, .seed = 1};
            int64_t test_count = 1000;
            if (const nlohmann::json* c = r.raw("composites")) {
              models::SpecReader cr(*c, r.child("composites"), r.problems());
              cr.integer("size", train.size, 28, 1024);
              cr.integer("train", train.count, 1, 1000000);
              cr.integer("test", test_count, 1, 1000000);
              cr.integer("max_items", train.max_items, 1, 64);
              cr.integer("seed", train.seed, 0);
            }
            const std::string dir = path.empty() ? "/usr/share/datasets/fashion-mnist" : path;
            return [dir, train, test_count](uint64_t) {
              models::CompositeOptions test = train;
              test.count = test_count;
              test.seed = train.seed + 1;
              return TrainTestData{
                  models::make_composites(models::load_idx(dir + "/train-images-idx3-ubyte.gz",
                                                           dir + "/train-labels-idx1-ubyte.gz"),
                                          train),
                  models::make_composites(models::load_idx(dir + "/t10k-images-idx3-ubyte.gz",
                                                           dir + "/t10k-labels-idx1-ubyte.gz"),
                                          test)};
            };
          }};
}

}  // namespace ringmaster::training
