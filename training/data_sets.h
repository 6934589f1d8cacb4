// The data sets in the registry (dataset_registry.cpp), one file each, and
// the held-out split that data sets shipped as one file share.
#pragma once

#include <cstdint>

#include "models/caption_composites.h"
#include "models/dataset.h"
#include "training/dataset_registry.h"

namespace ringmaster::training {

DatasetEntry cifar10_data_set();             // cifar_data.cpp
DatasetEntry cifar100_data_set();            // cifar_data.cpp
DatasetEntry coco_captions_data_set();       // coco_captions_data.cpp
DatasetEntry coco_instances_data_set();      // coco_instances_data.cpp
DatasetEntry fashion_mnist_data_set();       // fashion_mnist_data.cpp
DatasetEntry fashion_captions_data_set();    // fashion_captions_data.cpp
DatasetEntry fashion_composites_data_set();  // fashion_composites_data.cpp
DatasetEntry digits_data_set();              // digits_data.cpp
DatasetEntry fortunes_data_set();            // fortunes_data.cpp
DatasetEntry image_folder_data_set();        // image_folder_data.cpp
DatasetEntry lfw_subset_data_set();          // lfw_subset_data.cpp

// A data set that comes as one file, split into train and test: `test_fraction`
// (read as permille) and `split_seed` (default: train.seed) from r.
struct HeldOutSplit {
  int64_t test_permille = 0;
  int64_t split_seed = -1;  // -1: train.seed
  TrainTestData apply(const models::Dataset& all, uint64_t train_seed) const;
};
HeldOutSplit read_held_out_split(models::SpecReader& r, int64_t default_test_permille);

// Fields several data sets read alike (data_set_fields.cpp):
// require_data_path records "/path: is required for data set DATASET: WHAT"
// when data.path is empty; read_image_channels reads `channels` (1 or 3).
void require_data_path(models::SpecReader& r, const std::string& path, const std::string& dataset,
                       const std::string& what);
void read_image_channels(models::SpecReader& r, int64_t& channels);
// A COCO-style split: its annotations file and images folder, relative to
// data.path and inside it. read_coco_split reads r's object at key (if
// any) into s, recording a problem for a path that leaves data.path.
struct CocoSplit {
  std::string annotations, images;
  std::string annotations_in(const std::string& root) const;
  std::string images_in(const std::string& root) const;
};
void read_coco_split(models::SpecReader& r, const char* key, CocoSplit& s);

// Captioning data from both splits' sentences: a word vocabulary of the
// training sentences (words seen min_count times), every sentence as token
// ids; a test word outside it becomes <unk>, or is left out (drop_unknown).
// (captioned_data.cpp)
TrainTestData captioned_train_test(models::CaptionedImages train, models::CaptionedImages test,
                                   int64_t min_count, bool drop_unknown);

}  // namespace ringmaster::training
