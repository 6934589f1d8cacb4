// The cifar-10 and cifar-100 data sets from files in CIFAR's binary format,
// written here (no CIFAR files can be installed): every record's label and
// planes come back in file order, the class names from the names file, the
// coarse or fine labels of CIFAR-100; files that are missing, cut short,
// of another record size or with a label past the classes are refused
// naming the file (and the record).
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "../error_of.h"
#include "../test_dir.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;
constexpr int kPixels = 3 * 32 * 32;

// Pixel byte j of record r of the file numbered `file`.
uint8_t pixel(int file, int r, int j) {
  return static_cast<uint8_t>((file * 61 + r * 17 + j) % 256);
}

// `records` records: label bytes from `label(r)`, then the pixel pattern.
void write_records(const fs::path& p, int file, int records,
                   const std::function<std::vector<uint8_t>(int)>& label) {
  std::ofstream out(p, std::ios::binary);
  for (int r = 0; r < records; ++r) {
    for (uint8_t b : label(r)) out.put(static_cast<char>(b));
    for (int j = 0; j < kPixels; ++j) out.put(static_cast<char>(pixel(file, r, j)));
  }
}

// Spec problems (models::SpecError) and load errors (ops::Error) alike.
std::string error_of(const std::function<void()>& f) {
  return testing_support::error_of<std::exception>(f);
}

class Cifar : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("cifar"); }
  void TearDown() override { fs::remove_all(dir_); }
  TrainTestData load(const std::string& dataset, const nlohmann::json& fields = {}) const {
    nlohmann::json data = fields.is_object() ? fields : nlohmann::json::object();
    data["dataset"] = dataset;
    data["path"] = dir_.string();
    return load_data(parse_job_spec({{"data", data}}).data, 1);
  }
  void write_cifar10(int per_batch) const {
    for (int b = 1; b <= 5; ++b)
      write_records(dir_ / ("data_batch_" + std::to_string(b) + ".bin"), b, per_batch,
                    [b](int r) { return std::vector<uint8_t>{uint8_t((b + r) % 10)}; });
    write_records(dir_ / "test_batch.bin", 0, 4,
                  [](int r) { return std::vector<uint8_t>{uint8_t(9 - r)}; });
  }
  fs::path dir_;
};

TEST_F(Cifar, TenRecordsComeBackInFileOrderWithTheirNames) {
  write_cifar10(3);
  std::ofstream(dir_ / "batches.meta.txt")
      << "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
  const TrainTestData d = load("cifar-10");
  ASSERT_EQ(d.train.images.shape(), (ops::Shape{15, 3, 32, 32}));
  ASSERT_EQ(d.test.images.shape(), (ops::Shape{4, 3, 32, 32}));
  EXPECT_EQ(d.train.num_classes, 10);
  for (int b = 1; b <= 5; ++b)
    for (int r = 0; r < 3; ++r) {
      const int i = (b - 1) * 3 + r;
      EXPECT_EQ(d.train.labels[static_cast<size_t>(i)], (b + r) % 10);
      const uint8_t* px = d.train.images.data<uint8_t>() + i * kPixels;
      for (int j = 0; j < kPixels; j += 97) ASSERT_EQ(px[j], pixel(b, r, j)) << i << " " << j;
    }
  EXPECT_EQ(d.test.labels, (std::vector<int64_t>{9, 8, 7, 6}));
  ASSERT_EQ(d.train.class_names.size(), 10u);
  EXPECT_EQ(d.train.class_names[3], "cat");
}

TEST_F(Cifar, HundredTakesTheFineOrTheCoarseLabel) {
  for (const char* split : {"train", "test"})
    write_records(dir_ / (std::string(split) + ".bin"), 1, 5, [](int r) {
      return std::vector<uint8_t>{uint8_t(19 - r), uint8_t(r * 20 + 3)};
    });
  const TrainTestData fine = load("cifar-100");
  EXPECT_EQ(fine.train.num_classes, 100);
  EXPECT_EQ(fine.train.labels, (std::vector<int64_t>{3, 23, 43, 63, 83}));
  EXPECT_TRUE(fine.train.class_names.empty());  // no names file here
  const TrainTestData coarse = load("cifar-100", {{"labels", "coarse"}});
  EXPECT_EQ(coarse.test.num_classes, 20);
  EXPECT_EQ(coarse.test.labels, (std::vector<int64_t>{19, 18, 17, 16, 15}));
  EXPECT_NE(error_of([&] {
              load("cifar-100", {{"labels", "superclass"}});
            }).find("/data/labels"),
            std::string::npos);
}

TEST_F(Cifar, BadFilesAreRefusedNamingThem) {
  EXPECT_NE(error_of([&] { load("cifar-10"); }).find("data_batch_1.bin: cannot read"),
            std::string::npos);
  write_cifar10(2);
  {
    std::ofstream cut(dir_ / "data_batch_4.bin", std::ios::binary | std::ios::app);
    cut << "xyz";  // three bytes past the last whole record
  }
  std::string e = error_of([&] { load("cifar-10"); });
  EXPECT_NE(e.find("data_batch_4.bin: 6149 bytes, not a whole number of 3073-byte CIFAR records"),
            std::string::npos)
      << e;
  write_cifar10(2);
  write_records(dir_ / "data_batch_2.bin", 2, 3,
                [](int r) { return std::vector<uint8_t>{uint8_t(r == 2 ? 10 : 1)}; });
  e = error_of([&] { load("cifar-10"); });
  EXPECT_NE(e.find("data_batch_2.bin: record 2 has label 10; this format has classes 0..9"),
            std::string::npos)
      << e;
  // Two CIFAR-10 records (6,146 bytes) read as CIFAR-100, whose records are 3,074 bytes.
  fs::copy_file(dir_ / "data_batch_1.bin", dir_ / "train.bin");
  EXPECT_NE(error_of([&] { load("cifar-100"); }).find("3074-byte CIFAR records"),
            std::string::npos);
  const std::string spec = error_of([] { parse_job_spec({{"data", {{"dataset", "cifar-10"}}}}); });
  EXPECT_NE(spec.find("/data/path: is required for data set \"cifar-10\""), std::string::npos)
      << spec;
}

}  // namespace
}  // namespace ringmaster::training
