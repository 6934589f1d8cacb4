// cifar-10 and cifar-100: Krizhevsky's CIFAR sets in their binary version
// (models/cifar.h) at data.path, which is required (no Debian package ships
// them): cifar-10-batches-bin's data_batch_1..5.bin (50,000 training images)
// and test_batch.bin (10,000), or cifar-100-binary's train.bin and test.bin,
// labelled by their fine (100) or coarse (20) classes (`labels`).
#include <filesystem>

#include "models/cifar.h"
#include "training/data_sets.h"

namespace ringmaster::training {
namespace {

std::string in(const std::string& dir, const std::string& file) {
  return (std::filesystem::path(dir) / file).string();
}

}  // namespace

DatasetEntry cifar10_data_set() {
  return {TaskKind::kClassification, [](models::SpecReader& r, const std::string& path, TaskKind&) {
            require_data_path(r, path, "cifar-10",
                              "the folder of CIFAR's binary files (cifar-10-batches-bin)");
            return [path](uint64_t) {
              const models::CifarFormat f{1, 0, 10, "batches.meta.txt"};
              std::vector<std::string> train;
              for (int b = 1; b <= 5; ++b)
                train.push_back(in(path, "data_batch_" + std::to_string(b) + ".bin"));
              return TrainTestData{models::load_cifar(train, f),
                                   models::load_cifar({in(path, "test_batch.bin")}, f)};
            };
          }};
}

DatasetEntry cifar100_data_set() {
  return {TaskKind::kClassification, [](models::SpecReader& r, const std::string& path, TaskKind&) {
            require_data_path(r, path, "cifar-100",
                              "the folder of CIFAR's binary files (cifar-100-binary)");
            std::string labels = "fine";
            r.string("labels", labels, {"fine", "coarse"});
            const models::CifarFormat f =
                labels == "fine" ? models::CifarFormat{2, 1, 100, "fine_label_names.txt"}
                                 : models::CifarFormat{2, 0, 20, "coarse_label_names.txt"};
            return [path, f](uint64_t) {
              return TrainTestData{models::load_cifar({in(path, "train.bin")}, f),
                                   models::load_cifar({in(path, "test.bin")}, f)};
            };
          }};
}

}  // namespace ringmaster::training
