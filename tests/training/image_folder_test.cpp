// The image-folder data set: real image files (PNG, BMP, JPEG written here
// with stb_image_write) in class folders come back as the pixels written,
// labelled by sorted folder name, as grey or RGB, resized when asked, split
// as the folder says or by seed; Fashion-MNIST written out as PNGs loads to
// the same bytes as its IDX files. Folders and files a model cannot take are
// refused naming them.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "../error_of.h"
#include "../test_dir.h"
#include "models/image_folder.h"
#include "training/dataset_registry.h"
#include "training/job_spec.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

// An image of w x h with `c` interleaved channels, pixel (x, y, k) = f(x, y, k).
template <typename F>
std::vector<uint8_t> pixels(int w, int h, int c, F f) {
  std::vector<uint8_t> px;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) px.push_back(static_cast<uint8_t>(f(x, y, k)));
  return px;
}

void write_png(const fs::path& p, int w, int h, int c, const std::vector<uint8_t>& px) {
  fs::create_directories(p.parent_path());
  ASSERT_NE(stbi_write_png(p.c_str(), w, h, c, px.data(), w * c), 0) << p;
}

std::vector<uint8_t> grey(int w, int h, int seed) {
  return pixels(w, h, 1, [&](int x, int y, int) { return (x * 7 + y * 13 + seed * 31) % 256; });
}

// Image i of a (N, C, S, S) u8 data set, channel k, as its S * S bytes.
std::vector<uint8_t> plane(const models::Dataset& ds, int64_t i, int64_t k) {
  const int64_t c = ds.images.dim(1), s = ds.images.dim(2);
  const uint8_t* p = ds.images.data<uint8_t>() + (i * c + k) * s * s;
  return {p, p + s * s};
}

// Spec problems (models::SpecError) and load errors (ops::Error) alike.
std::string error_of(const std::function<void()>& f) {
  return testing_support::error_of<std::exception>(f);
}

class ImageFolder : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("image_folder"); }
  void TearDown() override { fs::remove_all(dir_); }
  TrainTestData load(const nlohmann::json& fields = nlohmann::json::object()) const {
    nlohmann::json data = fields;
    data["dataset"] = "image-folder";
    data["path"] = dir_.string();
    return load_data(parse_job_spec({{"data", data}}).data, 7);
  }
  fs::path dir_;
};

TEST_F(ImageFolder, PixelsAndLabelsComeBackAsWrittenWithClassesInNameOrder) {
  write_png(dir_ / "zebra" / "b.png", 6, 6, 1, grey(6, 6, 1));
  write_png(dir_ / "zebra" / "a.png", 6, 6, 1, grey(6, 6, 2));
  write_png(dir_ / "ant" / "only.png", 6, 6, 1, grey(6, 6, 3));
  std::ofstream(dir_ / "ant" / "notes.txt") << "not an image, skipped";
  write_png(dir_ / "ant" / ".hidden.png", 6, 6, 1, grey(6, 6, 4));
  const models::Dataset ds = models::load_image_folder(dir_.string(), {});
  EXPECT_EQ(ds.class_names, (std::vector<std::string>{"ant", "zebra"}));
  EXPECT_EQ(ds.num_classes, 2);
  ASSERT_EQ(ds.images.shape(), (ops::Shape{3, 1, 6, 6}));
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(plane(ds, 0, 0), grey(6, 6, 3));
  EXPECT_EQ(plane(ds, 1, 0), grey(6, 6, 2));  // a.png before b.png
  EXPECT_EQ(plane(ds, 2, 0), grey(6, 6, 1));
}

TEST_F(ImageFolder, ColourAnywhereMakesRgbAndGreyIsRepeated) {
  auto rgb = [](int x, int y, int k) { return k == 0 ? x * 20 : k == 1 ? y * 20 : 200; };
  write_png(dir_ / "a" / "colour.png", 5, 5, 3, pixels(5, 5, 3, rgb));
  fs::create_directories(dir_ / "b");
  const std::vector<uint8_t> g = grey(5, 5, 9);
  ASSERT_NE(stbi_write_bmp((dir_ / "b" / "grey.BMP").c_str(), 5, 5, 1, g.data()), 0);
  const models::Dataset ds = models::load_image_folder(dir_.string(), {});
  ASSERT_EQ(ds.images.shape(), (ops::Shape{2, 3, 5, 5}));
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(plane(ds, 0, k), pixels(5, 5, 1, [&](int x, int y, int) { return rgb(x, y, k); }))
        << "channel " << k;
    EXPECT_EQ(plane(ds, 1, k), g) << "channel " << k;
  }
  // channels 1: an RGB pixel with r = g = b is that grey.
  write_png(dir_ / "a" / "colour.png", 5, 5, 3,
            pixels(5, 5, 3, [](int x, int, int) { return x * 40; }));
  const models::Dataset one = models::load_image_folder(dir_.string(), {.channels = 1});
  ASSERT_EQ(one.images.shape(), (ops::Shape{2, 1, 5, 5}));
  EXPECT_EQ(plane(one, 0, 0), pixels(5, 5, 1, [](int x, int, int) { return x * 40; }));
}

TEST_F(ImageFolder, SizeResizesEveryImageAndWithoutItSizesMustAgree) {
  write_png(dir_ / "a" / "small.png", 12, 12, 1,
            pixels(12, 12, 1, [](int, int, int) { return 90; }));
  write_png(dir_ / "b" / "large.png", 20, 20, 1,
            pixels(20, 20, 1, [](int, int, int) { return 160; }));
  const std::string e = error_of([&] { load(); });
  EXPECT_NE(e.find("20x20"), std::string::npos) << e;
  EXPECT_NE(e.find("12x12"), std::string::npos) << e;
  EXPECT_NE(e.find("set data.size"), std::string::npos) << e;
  const models::Dataset ds = models::load_image_folder(dir_.string(), {.size = 16});
  ASSERT_EQ(ds.images.shape(), (ops::Shape{2, 1, 16, 16}));
  for (uint8_t v : plane(ds, 0, 0)) EXPECT_NEAR(v, 90, 1);
  for (uint8_t v : plane(ds, 1, 0)) EXPECT_NEAR(v, 160, 1);
  // Not square, even if all alike: refused unless resized.
  fs::remove_all(dir_);
  write_png(dir_ / "a" / "wide.png", 9, 4, 1, grey(9, 4, 0));
  EXPECT_NE(error_of([&] { load(); }).find("9x4"), std::string::npos);
  EXPECT_EQ(load({{"size", 8}, {"test_fraction", 0.1}}).train.images.dim(3), 8);
}

TEST_F(ImageFolder, JpegDecodesCloseToWhatWasWritten) {
  const std::vector<uint8_t> g = pixels(16, 16, 1, [](int x, int, int) { return 64 + x * 8; });
  fs::create_directories(dir_ / "a");
  ASSERT_NE(stbi_write_jpg((dir_ / "a" / "x.jpeg").c_str(), 16, 16, 1, g.data(), 95), 0);
  const models::Dataset ds = models::load_image_folder(dir_.string(), {.channels = 1});
  ASSERT_EQ(ds.images.shape(), (ops::Shape{1, 1, 16, 16}));
  const std::vector<uint8_t> got = plane(ds, 0, 0);
  for (size_t i = 0; i < g.size(); ++i) EXPECT_NEAR(got[i], g[i], 6) << i;
}

TEST_F(ImageFolder, AFolderWithTrainAndTestIsSplitAlreadyWithTrainsLabels) {
  for (const char* c : {"cat", "dog", "eel"})
    write_png(dir_ / "train" / c / "1.png", 4, 4, 1, grey(4, 4, c[0]));
  write_png(dir_ / "test" / "eel" / "1.png", 4, 4, 1, grey(4, 4, 5));
  const TrainTestData d = load();
  EXPECT_EQ(d.train.size(), 3);
  ASSERT_EQ(d.test.size(), 1);
  EXPECT_EQ(d.test.labels[0], 2);  // eel is class 2 of train
  EXPECT_EQ(d.test.num_classes, 3);
  EXPECT_NE(error_of([&] {
              load({{"test_fraction", 0.5}});
            }).find("split already"),
            std::string::npos);
  write_png(dir_ / "test" / "fox" / "1.png", 4, 4, 1, grey(4, 4, 6));
  const std::string e = error_of([&] { load(); });
  EXPECT_NE(e.find((dir_ / "test" / "fox").string() + ": a class the training folder does not"),
            std::string::npos)
      << e;
}

TEST_F(ImageFolder, OneFolderIsSplitBySeed) {
  for (int i = 0; i < 20; ++i)
    write_png(dir_ / (i % 2 ? "odd" : "even") / (std::to_string(i) + ".png"), 4, 4, 1,
              grey(4, 4, i));
  const TrainTestData d = load({{"test_fraction", 0.25}, {"split_seed", 3}});
  EXPECT_EQ(d.train.size(), 15);
  EXPECT_EQ(d.test.size(), 5);
  EXPECT_EQ(load().test.size(), 4);  // default 0.2
}

TEST_F(ImageFolder, BadFoldersAndFilesAreRefusedNamingThem) {
  EXPECT_NE(error_of([&] { load(); }).find(": no class folders"), std::string::npos);
  fs::create_directories(dir_ / "empty");
  EXPECT_NE(error_of([&] { load(); }).find((dir_ / "empty").string() + ": no images"),
            std::string::npos);
  write_png(dir_ / "empty" / "ok.png", 4, 4, 1, grey(4, 4, 0));
  std::ofstream(dir_ / "empty" / "broken.png") << "\x89PNG but not really";
  const std::string e = error_of([&] { load(); });
  EXPECT_NE(e.find((dir_ / "empty" / "broken.png").string() + ": not an image we read"),
            std::string::npos)
      << e;
  DataSpec d =
      parse_job_spec({{"data", {{"dataset", "image-folder"}, {"path", "/nonexistent"}}}}).data;
  EXPECT_NE(error_of([&] { load_data(d, 1); }).find("/nonexistent: not a folder"),
            std::string::npos);
}

TEST_F(ImageFolder, DamagedTruncatedOrHugeFilesAreRefusedBeforeDecoding) {
  const fs::path png = dir_ / "a" / "x.png";
  write_png(png, 16, 16, 3, pixels(16, 16, 3, [](int x, int y, int k) { return x * y + k; }));
  std::string bytes;
  {
    std::ifstream in(png, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(png, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() / 2);
  std::string e = error_of([&] { load(); });
  EXPECT_NE(e.find(png.string() + ": damaged PNG"), std::string::npos) << e;
  fs::remove(png);
  std::ofstream(dir_ / "a" / "x.gif") << "GIF89a";  // not an extension we take: skipped
  std::ofstream(dir_ / "a" / "y.png") << "GIF89a\x01\x00\x01\x00";
  e = error_of([&] { load(); });
  EXPECT_NE(e.find("y.png: not an image we read (PNG, JPEG, binary PGM/PPM or BMP)"),
            std::string::npos)
      << e;
  fs::remove(dir_ / "a" / "y.png");
  std::ofstream(dir_ / "a" / "big.pgm", std::ios::binary) << "P5 20000 3 255\n"
                                                          << "xyz";
  e = error_of([&] { load(); });
  EXPECT_NE(e.find("big.pgm: 20000x3 pixels, outside 1..16384"), std::string::npos) << e;
  std::ofstream(dir_ / "a" / "big.pgm", std::ios::binary) << "P5 8 8 255\n"
                                                          << "cut";
  e = error_of([&] { load(); });
  EXPECT_NE(e.find("big.pgm: PNM data cut short"), std::string::npos) << e;
}

TEST_F(ImageFolder, PgmSamplesAreScaledFromTheirMaxval) {
  fs::create_directories(dir_ / "a");
  std::ofstream(dir_ / "a" / "x.pgm", std::ios::binary) << "P5\n# a comment\n2 2\n15\n"
                                                        << std::string("\x00\x05\x0f\x0a", 4);
  const models::Dataset ds = models::load_image_folder(dir_.string(), {});
  EXPECT_EQ(plane(ds, 0, 0), (std::vector<uint8_t>{0, 85, 255, 170}));
}

TEST_F(ImageFolder, SpecFieldsAreCheckedBeforeLoading) {
  const std::string e = error_of([] {
    parse_job_spec({{"data", {{"dataset", "image-folder"}, {"channels", 2}, {"size", 0}}}});
  });
  EXPECT_NE(e.find("/data/path: is required for data set \"image-folder\""), std::string::npos)
      << e;
  EXPECT_NE(e.find("/data/channels: must be 1 (grey) or 3 (RGB)"), std::string::npos) << e;
  EXPECT_NE(e.find("/data/size: must be >= 1"), std::string::npos) << e;
}

TEST_F(ImageFolder, FashionMnistAsPngsLoadsToItsIdxBytes) {
  const std::string fm = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(fm)) GTEST_SKIP() << fm << " missing: run scripts/install-deps.sh";
  const models::Dataset idx = models::subset(
      models::load_idx(fm + "/t10k-images-idx3-ubyte.gz", fm + "/t10k-labels-idx1-ubyte.gz"), 60);
  for (int64_t i = 0; i < idx.size(); ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%03d.png", static_cast<int>(i));
    write_png(dir_ / ("class-" + std::to_string(idx.labels[static_cast<size_t>(i)])) / name, 28, 28,
              1, plane(idx, i, 0));
  }
  const models::Dataset ds = models::load_image_folder(dir_.string(), {});
  ASSERT_EQ(ds.images.shape(), (ops::Shape{60, 1, 28, 28}));
  // Class-major, then by file name (the IDX index): find each IDX image by label order.
  int64_t k = 0;
  for (int label = 0; label < 10; ++label)
    for (int64_t i = 0; i < idx.size(); ++i)
      if (idx.labels[static_cast<size_t>(i)] == label) {
        EXPECT_EQ(ds.class_names[static_cast<size_t>(ds.labels[static_cast<size_t>(k)])],
                  "class-" + std::to_string(label));
        EXPECT_EQ(plane(ds, k, 0), plane(idx, i, 0)) << "image " << i;
        ++k;
      }
  EXPECT_EQ(k, 60);
}

}  // namespace
}  // namespace ringmaster::training
