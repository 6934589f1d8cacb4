// Files of another geometry in a data set's folder (IDX files as Fashion-MNIST
// has them, but of non-square images, of another size in the test split, or
// with test classes the training split lacks) are refused by load_data,
// naming what is wrong, before a model is built for them: a model built for
// the training images would otherwise break an op's invariant (which aborts
// the whole worker) on the first step.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "../test_dir.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

void put_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void write_gz(const fs::path& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  gzclose(f);
}

// One split of an IDX pair: n images of h x w, label k % classes for image k.
void write_split(const fs::path& dir, const std::string& split, uint32_t n, uint32_t h, uint32_t w,
                 uint32_t classes) {
  std::string images, labels;
  put_be32(images, 0x803);
  for (uint32_t d : {n, h, w}) put_be32(images, d);
  for (uint32_t k = 0; k < n * h * w; ++k) images.push_back(static_cast<char>(k * 37 % 251));
  put_be32(labels, 0x801);
  put_be32(labels, n);
  for (uint32_t k = 0; k < n; ++k) labels.push_back(static_cast<char>(k % classes));
  write_gz(dir / (split + "-images-idx3-ubyte.gz"), images);
  write_gz(dir / (split + "-labels-idx1-ubyte.gz"), labels);
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
