// Data sets: the IDX loader on the real Fashion-MNIST files and on corrupt
// ones, the digits CSV, subsets, and the batch loader's order, contents,
// sharding and prefetch shutdown.
#include "models/dataset.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <zlib.h>
#include "error_of.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "ops/check.h"
#include "tests/idx_files.h"
#include "tests/test_dir.h"

namespace ringmaster::models {
namespace {

namespace fs = std::filesystem;
using ops::Tensor;

const std::string kFashion = "/usr/share/datasets/fashion-mnist/";

class DatasetFiles : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("dataset"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

using testing_support::idx_images;
using testing_support::idx_labels;
using testing_support::write_gz;

TEST(Dataset, FashionMnistIdx) {
  if (!fs::exists(kFashion + "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Fashion-MNIST not installed; run scripts/install-deps.sh";
  Dataset train =
      load_idx(kFashion + "train-images-idx3-ubyte.gz", kFashion + "train-labels-idx1-ubyte.gz");
  EXPECT_EQ(train.images.shape(), (ops::Shape{60000, 1, 28, 28}));
  EXPECT_EQ(train.images.dtype(), ops::DType::u8);
  EXPECT_EQ(train.num_classes, 10);
  std::vector<int64_t> counts(10);
  for (int64_t l : train.labels) {
    ASSERT_TRUE(l >= 0 && l < 10);
    ++counts[static_cast<size_t>(l)];
  }
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[static_cast<size_t>(c)], 6000) << c;
  // Real pixels: not all zero, the full u8 range used.
  const uint8_t* px = train.images.data<uint8_t>();
  const auto [lo, hi] = std::minmax_element(px, px + train.images.numel());
  EXPECT_EQ(*lo, 0);
  EXPECT_EQ(*hi, 255);

  Dataset test =
      load_idx(kFashion + "t10k-images-idx3-ubyte.gz", kFashion + "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(test.size(), 10000);
  EXPECT_EQ(test.images.shape(), (ops::Shape{10000, 1, 28, 28}));
}

TEST_F(DatasetFiles, IdxSmallFileLoads) {
  write_gz(path("i.gz"), idx_images(0x803, 3, 2, 4, 24));
  write_gz(path("l.gz"), idx_labels(0x801, 3, 3));
  Dataset ds = load_idx(path("i.gz"), path("l.gz"));
  EXPECT_EQ(ds.images.shape(), (ops::Shape{3, 1, 2, 4}));
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(ds.num_classes, 3);
  EXPECT_EQ(ds.images.data<uint8_t>()[23], 23);
}

TEST_F(DatasetFiles, IdxCorruptFilesNameFileAndProblem) {
  write_gz(path("l.gz"), idx_labels(0x801, 3, 3));
  auto load = [&](const std::string& images) {
    return error_of([&] { load_idx(images, path("l.gz")); });
  };
  write_gz(path("magic.gz"), idx_images(0x802, 3, 2, 4, 24));
  std::string e = load(path("magic.gz"));
  EXPECT_NE(e.find(path("magic.gz")), std::string::npos) << e;
  EXPECT_NE(e.find("not an IDX file of u8 images"), std::string::npos) << e;
  EXPECT_EQ(e.find("802"), std::string::npos) << "echoes the bytes it read: " << e;

  write_gz(path("short.gz"), idx_images(0x803, 3, 2, 4, 20));
  e = load(path("short.gz"));
  EXPECT_NE(e.find(path("short.gz")), std::string::npos) << e;
  EXPECT_NE(e.find("truncated: expected 24 bytes of image data, got 20"), std::string::npos) << e;

  write_gz(path("long.gz"), idx_images(0x803, 3, 2, 4, 30));
  EXPECT_NE(load(path("long.gz")).find("unexpected bytes after the image data"), std::string::npos);

  write_gz(path("count.gz"), idx_images(0x803, 4, 2, 4, 32));
  e = load(path("count.gz"));
  EXPECT_NE(e.find(path("l.gz")), std::string::npos) << e;
  EXPECT_NE(e.find("3 labels for 4 images"), std::string::npos) << e;

  write_gz(path("header.gz"), std::string("\0\0\x08", 3));
  EXPECT_NE(load(path("header.gz")).find("truncated"), std::string::npos);

  // Damage the compressed stream itself: zlib reports a data or CRC error.
  write_gz(path("ok.gz"), idx_images(0x803, 3, 2, 4, 24));
  std::ifstream in(path("ok.gz"), std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), {});
  gz[gz.size() - 6] = static_cast<char>(gz[gz.size() - 6] ^ 0x5a);  // inside the CRC
  std::ofstream(path("crc.gz"), std::ios::binary).write(gz.data(), static_cast<long>(gz.size()));
  e = load(path("crc.gz"));
  EXPECT_NE(e.find(path("crc.gz")), std::string::npos) << e;
  EXPECT_NE(e.find("corrupt gzip data"), std::string::npos) << e;

  // A file cut short: in its data, or only its 8-byte trailer (CRC and
  // length), which zlib never gets to check.
  for (const size_t cut : {gz.size() / 2, gz.size() - 8}) {
    std::ofstream(path("cut.gz"), std::ios::binary).write(gz.data(), static_cast<long>(cut));
    e = load(path("cut.gz"));
    EXPECT_NE(e.find(path("cut.gz") + ": truncated gzip file"), std::string::npos)
        << cut << ": " << e;
  }

  e = load(path("missing.gz"));
  EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
}

TEST(Dataset, DigitsCsv) {
  const std::string p = std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz";
  if (!fs::exists(p)) GTEST_SKIP() << p << " is missing; run scripts/install-deps.sh";
  Dataset ds = load_digits_csv(p);
  EXPECT_EQ(ds.size(), 1797);
  EXPECT_EQ(ds.images.shape(), (ops::Shape{1797, 1, 8, 8}));
  EXPECT_EQ(ds.num_classes, 10);
  std::vector<int64_t> counts(10);
  for (int64_t l : ds.labels) ++counts[static_cast<size_t>(l)];
  EXPECT_EQ(counts, (std::vector<int64_t>{178, 182, 177, 183, 181, 182, 181, 179, 174, 180}));
  const uint8_t* px = ds.images.data<uint8_t>();
  EXPECT_EQ(*std::max_element(px, px + ds.images.numel()), 255);  // 16 * 255 / 16
}

TEST_F(DatasetFiles, DigitsCsvErrors) {
  std::string row;
  for (int i = 0; i < 64; ++i) row += std::to_string(i % 17) + ",";
  write_gz(path("ok.csv.gz"), row + "3\n" + row + "4\n");
  Dataset ds = load_digits_csv(path("ok.csv.gz"));
  EXPECT_EQ(ds.size(), 2);
  EXPECT_EQ(ds.labels, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(ds.images.data<uint8_t>()[16], 255);
  EXPECT_EQ(ds.images.data<uint8_t>()[8], 127);

  write_gz(path("short.csv.gz"), row + "3\n" + "1,2,3\n");
  std::string e = error_of([&] { load_digits_csv(path("short.csv.gz")); });
  EXPECT_NE(e.find("line 2: 3 values, want 65"), std::string::npos) << e;
  write_gz(path("range.csv.gz"), row + "12\n");
  e = error_of([&] { load_digits_csv(path("range.csv.gz")); });
  EXPECT_NE(e.find("line 1: the label is outside 0..9"), std::string::npos) << e;
  write_gz(path("text.csv.gz"), "a,b\n");
  e = error_of([&] { load_digits_csv(path("text.csv.gz")); });
  EXPECT_NE(e.find("line 1: value 1 is not an integer"), std::string::npos) << e;
  // Cut short, it is named as such, not as a bad line where the text stops.
  std::string rows;
  for (int i = 0; i < 200; ++i) rows += row + std::to_string(i % 10) + "\n";
  write_gz(path("whole.csv.gz"), rows);
  std::ifstream in(path("whole.csv.gz"), std::ios::binary);
  const std::string gz((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(path("cut.csv.gz"), std::ios::binary)
      .write(gz.data(), static_cast<long>(gz.size() / 2));
  e = error_of([&] { load_digits_csv(path("cut.csv.gz")); });
  EXPECT_NE(e.find("truncated gzip file"), std::string::npos) << e;
  // A plain (not gzipped) file ends without being truncated.
  std::ofstream(path("plain.csv"), std::ios::binary) << row << "3\n";
  EXPECT_EQ(load_digits_csv(path("plain.csv")).size(), 1);
}

// N samples of C x 2 x 2 whose pixels all equal (index % 256), label index % 7.
Dataset synthetic(int64_t n, int64_t c = 1) {
  Dataset ds;
  ds.images = Tensor::empty({n, c, 2, 2}, ops::DType::u8);
  uint8_t* p = ds.images.data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c * 4; ++j) p[i * c * 4 + j] = static_cast<uint8_t>(i % 256);
    ds.labels.push_back(i % 7);
  }
  ds.num_classes = 7;
  return ds;
}

TEST(Dataset, SubsetAndSplit) {
  Dataset ds = synthetic(10);
  Dataset s = subset(ds, {7, 2});
  EXPECT_EQ(s.labels, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(s.images.data<uint8_t>()[0], 7);
  EXPECT_EQ(s.num_classes, 7);
  EXPECT_EQ(subset(ds, 4).size(), 4);
  EXPECT_THROW(subset(ds, 11), ops::Error);
  auto [a, b] = split(ds, 6);
  EXPECT_EQ(a.size(), 6);
  EXPECT_EQ(b.size(), 4);
  EXPECT_EQ(b.images.data<uint8_t>()[0], 6);
  auto [c, d] = split(ds, 6, 42);
  std::set<int> seen;
  for (const Dataset* x : {&c, &d})
    for (int64_t i = 0; i < x->size(); ++i) seen.insert(x->images.data<uint8_t>()[i * 4]);
  EXPECT_EQ(seen.size(), 10u);
}

TEST(Dataset, PermutationIsAPureFunction) {
  auto p = epoch_permutation(1000, 7, 3);
  EXPECT_EQ(p, epoch_permutation(1000, 7, 3));
  EXPECT_NE(p, epoch_permutation(1000, 7, 4));
  EXPECT_NE(p, epoch_permutation(1000, 8, 3));
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 1000; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_TRUE(epoch_permutation(0, 1, 1).empty());
}

std::vector<int64_t> drain(BatchLoader& loader, std::vector<Batch>* batches = nullptr) {
  std::vector<int64_t> all;
  while (auto b = loader.next()) {
    all.insert(all.end(), b->indices.begin(), b->indices.end());
    if (batches) batches->push_back(std::move(*b));
  }
  return all;
}

TEST(BatchLoader, CoversEveryIndexOncePerEpoch) {
  Dataset ds = synthetic(103);
  BatchLoader loader(ds, 10, 5, 0);
  EXPECT_EQ(loader.num_batches(), 11);
  std::vector<Batch> batches;
  std::vector<int64_t> seen = drain(loader, &batches);
  ASSERT_EQ(batches.size(), 11u);
  EXPECT_EQ(batches.back().images.dim(0), 3);
  std::vector<int64_t> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 103; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);
  EXPECT_EQ(seen, epoch_permutation(103, 5, 0));
  EXPECT_FALSE(loader.next().has_value());  // stays at the end
}

TEST(BatchLoader, BatchContentsMatchIndices) {
  Dataset ds = synthetic(40, 3);
  BatchLoaderOptions o;
  o.batch_size = 8;
  o.seed = 1;
  o.mean = {0.5f, 0.25f, 0.0f};
  o.std = {0.5f, 0.25f, 2.0f};
  BatchLoader loader(ds, o);
  while (auto b = loader.next()) {
    EXPECT_EQ(b->images.shape(), (ops::Shape{8, 3, 2, 2}));
    EXPECT_EQ(b->images.dtype(), ops::DType::f32);
    EXPECT_EQ(b->labels.dtype(), ops::DType::i64);
    const float* x = b->images.data<float>();
    for (int64_t i = 0; i < 8; ++i) {
      const int64_t k = b->indices[static_cast<size_t>(i)];
      EXPECT_EQ(b->labels.data<int64_t>()[i], k % 7);
      for (int64_t c = 0; c < 3; ++c) {
        const double v = static_cast<double>(k) / 255.0;
        EXPECT_NEAR(x[(i * 3 + c) * 4 + 3],
                    (v - o.mean[static_cast<size_t>(c)]) / o.std[static_cast<size_t>(c)], 1e-5);
      }
    }
  }
}

TEST(BatchLoader, SameSeedSameOrderOtherEpochOtherOrder) {
  Dataset ds = synthetic(64);
  BatchLoader a(ds, 16, 9, 2), b(ds, 16, 9, 2), c(ds, 16, 9, 3);
  std::vector<int64_t> sa = drain(a), sb = drain(b), sc = drain(c);
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
  BatchLoader plain(ds, 16, 9, 2, /*shuffle=*/false);
  std::vector<int64_t> sp = drain(plain);
  for (int64_t i = 0; i < 64; ++i) EXPECT_EQ(sp[static_cast<size_t>(i)], i);
}

TEST(BatchLoader, DropLast) {
  Dataset ds = synthetic(25);
  BatchLoader loader(ds, 10, 1, 0, true, /*drop_last=*/true);
  EXPECT_EQ(loader.num_batches(), 2);
  EXPECT_EQ(drain(loader).size(), 20u);
}

TEST(BatchLoader, RanksSplitEachGlobalBatchWhateverTheWorldSize) {
  Dataset ds = synthetic(23);
  BatchLoaderOptions one{.batch_size = 5, .seed = 4, .epoch = 1};
  one.prefetch = false;
  std::vector<std::vector<int64_t>> whole;  // batch -> indices with one rank
  {
    BatchLoader loader(ds, one);
    while (auto b = loader.next()) {
      EXPECT_EQ(b->global_size, static_cast<int64_t>(b->indices.size()));
      whole.push_back(b->indices);
    }
  }
  ASSERT_EQ(whole.size(), 5u);  // 4 of 5, then 3
  for (int world : {2, 3, 4, 7}) {
    SCOPED_TRACE(world);
    std::vector<std::vector<int64_t>> joined(whole.size());
    for (int r = 0; r < world; ++r) {
      BatchLoaderOptions o = one;
      o.rank = r;
      o.world_size = world;
      BatchLoader loader(ds, o);
      EXPECT_EQ(loader.num_batches(), 5);
      while (auto b = loader.next()) {
        const auto k = static_cast<size_t>(b->index);
        EXPECT_EQ(b->global_size, static_cast<int64_t>(whole[k].size()));
        EXPECT_EQ(b->images.dim(0), static_cast<int64_t>(b->indices.size()));
        // Near-equal shares: sizes differ by at most one.
        const auto n = static_cast<int64_t>(b->indices.size());
        EXPECT_LE(std::abs(n * world - b->global_size), world);
        joined[k].insert(joined[k].end(), b->indices.begin(), b->indices.end());
      }
    }
    EXPECT_EQ(joined, whole);  // rank order concatenates to the 1-rank batch
  }
}

TEST(BatchLoader, StartBatchAndNoPrefetchAgree) {
  Dataset ds = synthetic(50);
  BatchLoaderOptions o{.batch_size = 7, .seed = 3, .epoch = 5};
  BatchLoader full(ds, o);
  std::vector<int64_t> whole = drain(full);
  o.start_batch = 3;
  o.prefetch = false;
  BatchLoader resumed(ds, o);
  auto first = resumed.next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->index, 3);
  std::vector<int64_t> rest = first->indices;
  std::vector<int64_t> more = drain(resumed);
  rest.insert(rest.end(), more.begin(), more.end());
  EXPECT_EQ(rest, std::vector<int64_t>(whole.begin() + 21, whole.end()));
}

TEST(BatchLoader, ShutsDownCleanlyMidEpoch) {
  Dataset ds = synthetic(5000);
  for (int taken = 0; taken < 4; ++taken) {
    BatchLoader loader(ds, 8, 1, 0);
    for (int i = 0; i < taken; ++i) ASSERT_TRUE(loader.next().has_value());
    // The destructor stops and joins the prefetch thread (the test would hang
    // or crash otherwise).
  }
  SUCCEED();
}

TEST(BatchLoader, BadOptionsThrow) {
  Dataset ds = synthetic(5);
  EXPECT_THROW(BatchLoader(ds, 0, 1, 0), ops::Error);
  BatchLoaderOptions o;
  o.rank = 2;
  o.world_size = 2;
  EXPECT_THROW(BatchLoader(ds, o), ops::Error);
  BatchLoaderOptions m;
  m.mean = {0.5f, 0.5f};
  m.std = {1.0f, 1.0f};
  EXPECT_THROW(BatchLoader(ds, m), ops::Error);
}

}  // namespace
}  // namespace ringmaster::models
