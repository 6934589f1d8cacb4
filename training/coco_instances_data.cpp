// coco-instances (segmentation or detection): images with COCO-style
// instances files (models/coco_instances.h) under data.path, which is
// required. `train` and `test` name each split's `annotations` file and
// `images` folder inside data.path (defaults: COCO 2017's
// annotations/instances_train2017.json with train2017/, and
// annotations/instances_val2017.json with val2017/). The classes are the
// training file's categories. `targets` "masks" (segmentation, the default)
// or "boxes" (detection: each object's box of its visible pixels), `size`
// (128), `channels` (3), `min_visible` (0.5, boxes only).
#include "models/coco_instances.h"
#include "training/data_sets.h"

namespace ringmaster::training {

DatasetEntry coco_instances_data_set() {
  return {TaskKind::kSegmentation,
          [](models::SpecReader& r, const std::string& path, TaskKind& task) {
            require_data_path(r, path, "coco-instances",
                              "the folder of the instances files and image folders");
            CocoSplit train{"annotations/instances_train2017.json", "train2017"};
            CocoSplit test{"annotations/instances_val2017.json", "val2017"};
            read_coco_split(r, "train", train);
            read_coco_split(r, "test", test);
            std::string targets = "masks";
            r.string("targets", targets, {"masks", "boxes"});
            models::CocoInstanceOptions o;
            o.instances = targets == "boxes";
            task = o.instances ? TaskKind::kDetection : TaskKind::kSegmentation;
            r.integer("size", o.size, 16, 1024);
            read_image_channels(r, o.channels);
            r.number("min_visible", o.min_visible, 0.0, 1.0);
            return [path, train, test, o](uint64_t) {
              std::vector<std::string> names;
              const std::vector<int64_t> cats =
                  models::coco_category_ids(train.annotations_in(path), &names, o.max_bytes);
              TrainTestData out{models::load_coco_instances(train.annotations_in(path),
                                                            train.images_in(path), cats, o),
                                models::load_coco_instances(test.annotations_in(path),
                                                            test.images_in(path), cats, o)};
              out.train.class_names = out.test.class_names = names;
              return out;
            };
          }};
}

}  // namespace ringmaster::training
