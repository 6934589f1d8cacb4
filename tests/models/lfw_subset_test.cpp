// The .npy reader (versions, dtypes, malformed headers and sizes) and the
// lfw-subset data set built on it (labels by row, resize, grey to RGB, bad
// shapes and values), on hand-made files and on the real lfw_subset.npy.
#include "models/lfw_subset.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include "error_of.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "models/npy.h"
#include "tests/test_dir.h"

namespace ringmaster::models {
namespace {

namespace fs = std::filesystem;

// A version-1 .npy: magic, version, u16 header length, header padded with
// spaces and a newline so the data starts at a multiple of 64, then data.
std::string npy_v1(const std::string& dict, const std::string& data) {
  std::string header = dict;
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string s = "\x93NUMPY";
  s += '\x01';
  s += '\0';
  s += static_cast<char>(header.size() & 0xff);
  s += static_cast<char>(header.size() >> 8);
  return s + header + data;
}

template <class T>
std::string raw(const std::vector<T>& v) {
  std::string s(v.size() * sizeof(T), '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

class NpyFiles : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("npy"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& bytes) const {
    const std::string p = (dir_ / "a.npy").string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  fs::path dir_;
};

TEST_F(NpyFiles, ReadsFloat64AndFloat32) {
  const NpyArray a =
      load_npy(write(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
                            raw<double>({1, 2, 3, 4, 5, 6.5}))));
  EXPECT_EQ(a.shape, (ops::Shape{2, 3}));
  EXPECT_EQ(a.values, (std::vector<double>{1, 2, 3, 4, 5, 6.5}));
  const NpyArray b = load_npy(write(npy_v1(
      "{'shape': (3,), 'fortran_order': False, 'descr': '<f4'}", raw<float>({0.5f, -1, 2}))));
  EXPECT_EQ(b.shape, (ops::Shape{3}));
  EXPECT_EQ(b.values, (std::vector<double>{0.5, -1, 2}));
}

TEST_F(NpyFiles, MalformedFilesAreNamed) {
  const std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }";
  const std::string four = raw<double>({1, 2, 3, 4});
  auto err = [&](const std::string& bytes) { return error_of([&] { load_npy(write(bytes)); }); };
  EXPECT_NE(err("PK\x03\x04 not numpy").find("no \\x93NUMPY magic"), std::string::npos);
  EXPECT_NE(err(npy_v1(dict, four.substr(0, 24))).find("needs 32 bytes of data, the file has 24"),
            std::string::npos);
  EXPECT_NE(err(npy_v1(dict, four + "x")).find("the file has 33"), std::string::npos);
  EXPECT_NE(err(npy_v1("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }", four))
                .find("dtype '<i8' is not supported"),
            std::string::npos);
  EXPECT_NE(err(npy_v1("{'descr': '>f8', 'fortran_order': False, 'shape': (2, 2), }", four))
                .find("dtype '>f8'"),
            std::string::npos);
  EXPECT_NE(err(npy_v1("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", four))
                .find("Fortran-order"),
            std::string::npos);
  EXPECT_NE(err(npy_v1("{'descr': '<f8', 'fortran_order': False}", four)).find("lacks"),
            std::string::npos);
  EXPECT_NE(err(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (2, x), }", four))
                .find("bad shape"),
            std::string::npos);
  std::string v9 = npy_v1(dict, four);
  v9[6] = 9;
  EXPECT_NE(err(v9).find("version 9"), std::string::npos);
  std::string long_header = npy_v1(dict, four);
  long_header[8] = '\xff';
  long_header[9] = '\x7f';
  EXPECT_NE(err(long_header).find("runs past the end"), std::string::npos);
}

TEST_F(NpyFiles, LfwSubsetShapeAndValuesAreChecked) {
  const std::string p =
      write(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (10, 2, 2), }",
                   raw(std::vector<double>(40))));
  EXPECT_NE(error_of([&] { load_lfw_subset(p); }).find("(200, H, W)"), std::string::npos);
  std::vector<double> v(200 * 2 * 2, 0.5);
  v[17] = 1.5;
  const std::string q =
      write(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (200, 2, 2), }", raw(v)));
  EXPECT_NE(error_of([&] { load_lfw_subset(q); }).find("value 1.5 at flat index 17"),
            std::string::npos);
}

TEST_F(NpyFiles, LfwSubsetLabelsByRowAndResizes) {
  std::vector<double> v(200 * 2 * 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 4) / 3.0;  // 0, 1/3, 2/3, 1
  const std::string p =
      write(npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (200, 2, 2), }", raw(v)));
  const Dataset same = load_lfw_subset(p, 0);
  EXPECT_EQ(same.images.shape(), (ops::Shape{200, 3, 2, 2}));
  EXPECT_EQ(same.num_classes, 2);
  EXPECT_EQ(same.labels[0], 1);
  EXPECT_EQ(same.labels[99], 1);
  EXPECT_EQ(same.labels[100], 0);
  EXPECT_EQ(same.labels[199], 0);
  const uint8_t* px = same.images.data<uint8_t>();
  for (int c = 0; c < 3; ++c) {  // every channel the same grey, rounded to u8
    EXPECT_EQ(px[c * 4 + 0], 0);
    EXPECT_EQ(px[c * 4 + 1], 85);
    EXPECT_EQ(px[c * 4 + 2], 170);
    EXPECT_EQ(px[c * 4 + 3], 255);
  }
  // 2 -> 4, tf resizeBilinear (no half-pixel centres): row i samples i / 2,
  // the last row clamps to the edge. Row 0: 0, 1/6, 1/3, 1/3.
  const Dataset big = load_lfw_subset(p, 4);
  EXPECT_EQ(big.images.shape(), (ops::Shape{200, 3, 4, 4}));
  const uint8_t* b = big.images.data<uint8_t>();
  EXPECT_EQ(b[0], 0);
  EXPECT_NEAR(b[1], 42.5, 0.51);  // 255 / 6, rounded either way
  EXPECT_EQ(b[2], 85);
  EXPECT_EQ(b[3], 85);
  EXPECT_EQ(b[15], 255);
}

TEST(LfwSubset, RealFile) {
  const std::string p = std::string(RINGMASTER_SOURCE_DIR) + "/data/lfw_subset.npy";
  if (!fs::exists(p)) GTEST_SKIP() << p << " is missing; run scripts/install-deps.sh";
  const NpyArray a = load_npy(p);
  EXPECT_EQ(a.shape, (ops::Shape{200, 25, 25}));
  const Dataset ds = load_lfw_subset(p, 150);
  EXPECT_EQ(ds.images.shape(), (ops::Shape{200, 3, 150, 150}));
  int64_t faces = 0;
  for (int64_t l : ds.labels) faces += l;
  EXPECT_EQ(faces, 100);
  // Pixel (0, 0) of image 0 is the file's first value (the resize samples it exactly).
  EXPECT_EQ(ds.images.data<uint8_t>()[0], static_cast<uint8_t>(std::lround(a.values[0] * 255.0)));
}

}  // namespace
}  // namespace ringmaster::models
