// coco-captions (captioning): images with COCO-style caption files
// (models/coco_captions.h) under data.path, which is required. `train` and
// `test` each name their `annotations` file and `images` folder, relative to
// data.path and inside it (defaults: COCO 2017's
// annotations/captions_train2017.json with train2017/, and
// annotations/captions_val2017.json with val2017/). `size` (64), `channels`
// (3), `references` (5), `max_words` (30), and as fashion-captions:
// `min_count` (1) and `unknown_words` ("unk" or "drop").
#include "models/coco_captions.h"
#include "training/data_sets.h"

namespace ringmaster::training {
namespace {

models::CaptionedImages load_split(const std::string& root, const CocoSplit& s,
                                   const models::CocoCaptionOptions& o) {
  return models::load_coco_captions(s.annotations_in(root), s.images_in(root), o);
}

}  // namespace

DatasetEntry coco_captions_data_set() {
  return {TaskKind::kCaptioning, [](models::SpecReader& r, const std::string& path, TaskKind&) {
            require_data_path(r, path, "coco-captions",
                              "the folder of the caption files and image folders");
            CocoSplit train{"annotations/captions_train2017.json", "train2017"};
            CocoSplit test{"annotations/captions_val2017.json", "val2017"};
            read_coco_split(r, "train", train);
            read_coco_split(r, "test", test);
            models::CocoCaptionOptions o;
            r.integer("size", o.size, 16, 1024);
            read_image_channels(r, o.channels);
            r.integer("references", o.references, 1, 20);
            r.integer("max_words", o.max_words, 1, 200);
            int64_t min_count = 1;
            r.integer("min_count", min_count, 1, 1000000);
            std::string unknown = "unk";
            r.string("unknown_words", unknown, {"unk", "drop"});
            return [path, train, test, o, min_count, unknown](uint64_t) {
              return captioned_train_test(load_split(path, train, o), load_split(path, test, o),
                                          min_count, unknown == "drop");
            };
          }};
}

}  // namespace ringmaster::training
