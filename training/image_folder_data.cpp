// image-folder: the user's own images in torchvision's ImageFolder layout
// (models/image_folder.h) at data.path, which is required. A folder with
// both train/ and test/ sub-folders is split already (test/'s classes take
// train/'s labels); any other folder is the class folders themselves, split
// by seed: test_fraction (default 0.2) and split_seed (default train.seed).
// channels (1 or 3; default: 3 when any image has colour) and size (resize
// to size x size; default: the images' own one square size).
#include <filesystem>

#include "models/image_folder.h"
#include "ops/check.h"
#include "training/data_sets.h"

namespace ringmaster::training {
namespace {

bool presplit(const std::filesystem::path& root) {
  std::error_code ec;
  return std::filesystem::is_directory(root / "train", ec) &&
         std::filesystem::is_directory(root / "test", ec);
}

}  // namespace

DatasetEntry image_folder_data_set() {
  return {TaskKind::kClassification, [](models::SpecReader& r, const std::string& path, TaskKind&) {
            require_data_path(r, path, "image-folder",
                              "the folder whose sub-folders (one per class) hold the images");
            const bool split_asked = r.has("test_fraction") || r.has("split_seed");
            const HeldOutSplit split = read_held_out_split(r, 200);
            models::ImageFolderOptions o;
            r.integer("size", o.size, 1, 1024);
            read_image_channels(r, o.channels);
            return [root = std::filesystem::path(path), split, split_asked, o](uint64_t seed) {
              if (!presplit(root)) return split.apply(models::load_image_folder(root, o), seed);
              RM_THROW_IF(split_asked, "/data/test_fraction, /data/split_seed: ", root.string(),
                          " is split already (it has train/ and test/ folders)");
              TrainTestData out;
              out.train = models::load_image_folder(root / "train", o);
              models::ImageFolderOptions test_options = o;  // the model takes train's channels
              test_options.channels = out.train.images.dim(1);
              out.test =
                  models::load_image_folder(root / "test", test_options, out.train.class_names);
              return out;
            };
          }};
}

}  // namespace ringmaster::training
