// fashion-mnist: Zalando's Fashion-MNIST from its IDX files (60,000 train,
// 10,000 test, 28x28 grey, 10 classes), from Debian's package by default.
#include "training/data_sets.h"

namespace ringmaster::training {

DatasetEntry fashion_mnist_data_set() {
  return {TaskKind::kClassification, [](models::SpecReader&, const std::string& path, TaskKind&) {
            const std::string dir = path.empty() ? "/usr/share/datasets/fashion-mnist" : path;
            return [dir](uint64_t) {
              return TrainTestData{models::load_idx(dir + "/train-images-idx3-ubyte.gz",
                                                    dir + "/train-labels-idx1-ubyte.gz"),
                                   models::load_idx(dir + "/t10k-images-idx3-ubyte.gz",
                                                    dir + "/t10k-labels-idx1-ubyte.gz")};
            };
          }};
}

}  // namespace ringmaster::training
