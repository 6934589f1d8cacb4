// fashion-captions (captioning): Fashion-MNIST items on five kinds of
// background with reference sentences from each image's layout
// (models/caption_composites.h); training images from the training items,
// test images from the held-out test items (seed + 1). The word vocabulary
// comes from the training sentences only (words seen min_count times);
// a test sentence's other words become <unk> (unknown_words "unk") or are
// left out ("drop"). Own fields: `captions` {size, train, test, max_items,
// references, seed}, `min_count`, `unknown_words`.
#include "models/caption_composites.h"
#include "training/data_sets.h"

namespace ringmaster::training {

DatasetEntry fashion_captions_data_set() {
  return {
      TaskKind::kCaptioning, [](models::SpecReader& r, const std::string& path, TaskKind&) {
        models::CaptionCompositeOptions train{.count = 4000, .size = 64, .seed = 1};
        int64_t test_count = 500, min_count = 1;
        if (const nlohmann::json* c = r.raw("captions")) {
          models::SpecReader cr(*c, r.child("captions"), r.problems());
          cr.integer("size", train.size, 56, 1024);
          cr.integer("train", train.count, 1, 1000000);
          cr.integer("test", test_count, 1, 1000000);
          cr.integer("max_items", train.max_items, 1, 2);
          cr.integer("references", train.references, 1, 6);
          cr.integer("seed", train.seed, 0);
        }
        r.integer("min_count", min_count, 1, 1000000);
        std::string unknown = "unk";
        r.string("unknown_words", unknown, {"unk", "drop"});
        const std::string dir = path.empty() ? "/usr/share/datasets/fashion-mnist" : path;
        return [dir, train, test_count, min_count, unknown](uint64_t) {
          models::CaptionCompositeOptions test = train;
          test.count = test_count;
          test.seed = train.seed + 1;
          models::CaptionedImages tr =
              models::make_caption_composites(models::load_idx(dir + "/train-images-idx3-ubyte.gz",
                                                               dir + "/train-labels-idx1-ubyte.gz"),
                                              train);
          models::CaptionedImages te =
              models::make_caption_composites(models::load_idx(dir + "/t10k-images-idx3-ubyte.gz",
                                                               dir + "/t10k-labels-idx1-ubyte.gz"),
                                              test);
          return captioned_train_test(std::move(tr), std::move(te), min_count, unknown == "drop");
        };
      }};
}

}  // namespace ringmaster::training
