// Files of another geometry in a data set's folder (IDX files as Fashion-MNIST
// has them, but of non-square images, of another size in the test split, or
// with test classes the training split lacks) are refused by load_data,
// naming what is wrong, before a model is built for them: a model built for
// the training images would otherwise break an op's invariant (which aborts
// the whole worker) on the first step.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "../idx_files.h"
#include "../test_dir.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

// One split of an IDX pair: n images of h x w, label k % classes for image k.
void write_split(const fs::path& dir, const std::string& split, uint32_t n, uint32_t h, uint32_t w,
                 uint32_t classes) {
  testing_support::write_gz((dir / (split + "-images-idx3-ubyte.gz")).string(),
                            testing_support::idx_images(0x803, n, h, w, size_t{n} * h * w));
  testing_support::write_gz((dir / (split + "-labels-idx1-ubyte.gz")).string(),
                            testing_support::idx_labels(0x801, n, n, classes));
}

class DataGeometry : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("data_geometry"); }
  void TearDown() override { fs::remove_all(dir_); }
  // load_data's error for this folder, or "loaded".
  std::string error() const {
    DataSpec d =
        parse_job_spec({{"data", {{"dataset", "fashion-mnist"}, {"path", dir_.string()}}}}).data;
    try {
      load_data(d, 1);
      return "loaded";
    } catch (const ops::Error& e) {
      return e.what();
    }
  }
  fs::path dir_;
};

TEST_F(DataGeometry, SquareImagesOfOneSizeLoad) {
  write_split(dir_, "train", 12, 9, 9, 4);
  write_split(dir_, "t10k", 5, 9, 9, 4);
  EXPECT_EQ(error(), "loaded");
}

TEST_F(DataGeometry, NonSquareImagesAreRefusedWithTheirSize) {
  for (auto [h, w] : {std::pair{9u, 13u}, std::pair{13u, 9u}}) {
    write_split(dir_, "train", 12, h, w, 4);
    write_split(dir_, "t10k", 5, h, w, 4);
    const std::string e = error();
    EXPECT_NE(e.find("the images are " + std::to_string(h) + " x " + std::to_string(w)),
              std::string::npos)
        << e;
    EXPECT_NE(e.find("square"), std::string::npos) << e;
  }
}

TEST_F(DataGeometry, ATestSplitOfAnotherSizeIsRefusedNamingBoth) {
  write_split(dir_, "train", 12, 9, 9, 4);
  write_split(dir_, "t10k", 5, 7, 7, 4);
  const std::string e = error();
  EXPECT_NE(e.find("the test images are (1, 7, 7)"), std::string::npos) << e;
  EXPECT_NE(e.find("the training images (1, 9, 9)"), std::string::npos) << e;
}

TEST_F(DataGeometry, TestClassesTheTrainingSplitLacksAreRefused) {
  write_split(dir_, "train", 12, 9, 9, 4);
  write_split(dir_, "t10k", 12, 9, 9, 12);
  const std::string e = error();
  EXPECT_NE(e.find("the test split has class 11"), std::string::npos) << e;
  EXPECT_NE(e.find("classes are 0..3"), std::string::npos) << e;
}

}  // namespace
}  // namespace ringmaster::training
