// Segmentation composites: masks are exact (item pixels above the threshold
// carry 1 + the item's label, the rest is textured background), images are
// a pure function of (seed, index), subsets keep the masks, and the batch
// loader hands out (B, H, W) i64 masks, augmented with their images.
#include "models/composites.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace ringmaster::models {
namespace {

// Four 28x28 items: item i is a filled square of value 50 + 40*i with label i.
Dataset squares() {
  Dataset d;
  d.images = ops::Tensor::zeros({4, 1, 28, 28}, ops::DType::u8);
  for (int64_t i = 0; i < 4; ++i) {
    uint8_t* p = d.images.data<uint8_t>() + i * 784;
    for (int64_t y = 4; y < 24; ++y)
      for (int64_t x = 6; x < 20; ++x) p[y * 28 + x] = static_cast<uint8_t>(50 + 40 * i);
    d.labels.push_back(i);
  }
  d.num_classes = 4;
  return d;
}

TEST(Composites, MasksAreExact) {
  const Dataset items = squares();
  Dataset c = make_composites(items, {.count = 50, .size = 48, .max_items = 3, .threshold = 40});
  EXPECT_EQ(c.num_classes, 5);
  ASSERT_EQ(c.images.shape(), (ops::Shape{50, 1, 48, 48}));
  ASSERT_EQ(c.masks.shape(), (ops::Shape{50, 48, 48}));
  std::set<int> seen;
  for (int64_t i = 0; i < 50 * 48 * 48; ++i) {
    const int m = c.masks.data<uint8_t>()[i];
    const int v = c.images.data<uint8_t>()[i];
    seen.insert(m);
    if (m == 0) {
      ASSERT_GE(v, 10);  // the texture's range
      ASSERT_LE(v, 110);
    } else {
      ASSERT_EQ(v, 50 + 40 * (m - 1)) << i;  // exactly the item's pixel
    }
  }
  EXPECT_EQ(seen, (std::set<int>{0, 1, 2, 3, 4}));
  for (int64_t k = 0; k < 50; ++k) EXPECT_GE(c.labels[static_cast<size_t>(k)], 1);
}

TEST(Composites, PureFunctionOfSeedAndSubsetsKeepMasks) {
  const Dataset items = squares();
  const Dataset a = make_composites(items, {.count = 8, .seed = 3});
  const Dataset b = make_composites(items, {.count = 8, .seed = 3});
  const Dataset other = make_composites(items, {.count = 8, .seed = 4});
  auto bytes = [](const ops::Tensor& t) {
    return std::vector<uint8_t>(t.data<uint8_t>(), t.data<uint8_t>() + t.numel());
  };
  EXPECT_EQ(bytes(a.images), bytes(b.images));
  EXPECT_EQ(bytes(a.masks), bytes(b.masks));
  EXPECT_NE(bytes(a.images), bytes(other.images));
  const Dataset s = subset(a, std::vector<int64_t>{5, 2});
  ASSERT_TRUE(s.masks.defined());
  const std::vector<uint8_t> am = bytes(a.masks), sm = bytes(s.masks);
  EXPECT_TRUE(std::equal(sm.begin(), sm.begin() + 64 * 64, am.begin() + 5 * 64 * 64));
  EXPECT_THROW(make_composites(items, {.count = 1, .size = 20}), ops::Error);  // items 28 px
}

TEST(Composites, BatchLoaderGivesMasks) {
  const Dataset c = make_composites(squares(), {.count = 5, .size = 32});
  BatchLoader loader(c, {.batch_size = 2, .seed = 1, .epoch = 0});
  int64_t images = 0;
  while (auto b = loader.next()) {
    ASSERT_EQ(b->masks.shape(), (ops::Shape{b->labels.dim(0), 32, 32}));
    for (size_t i = 0; i < b->indices.size(); ++i) {
      for (int64_t j = 0; j < 32 * 32; ++j) {
        ASSERT_EQ(b->masks.data<int64_t>()[static_cast<int64_t>(i) * 1024 + j],
                  c.masks.data<uint8_t>()[b->indices[i] * 1024 + j]);
      }
    }
    images += b->labels.dim(0);
  }
  EXPECT_EQ(images, 5);
  // Augmented, the masks move with the pixels: a pixel labelled k holds item
  // k - 1's value, 50 + 40 (k - 1); the values above the texture's 110 carry
  // their label; the uncovered fill (0) is background.
  AugmentStep flip, shift;
  flip.p = 1.0;
  shift.kind = AugmentStep::Kind::translate;
  shift.pixels = 6;
  auto aug = std::make_shared<Augmenter>(std::vector<AugmentStep>{flip, shift});
  BatchLoader augmented(c, {.batch_size = 2, .seed = 1, .epoch = 0, .augment = aug});
  int64_t item_pixels = 0;
  while (auto b = augmented.next()) {
    const float* x = b->images.data<float>();
    const int64_t* m = b->masks.data<int64_t>();
    for (int64_t j = 0; j < b->masks.numel(); ++j) {
      const auto v = static_cast<int64_t>(std::lround(x[j] * 255.0f));
      if (m[j] != 0) {
        ASSERT_EQ(v, 50 + 40 * (m[j] - 1)) << j;
      }
      if (v > 110) {
        ASSERT_EQ(m[j], (v - 50) / 40 + 1) << j;
      }
      if (v == 0) {
        ASSERT_EQ(m[j], 0) << j;
      }
      item_pixels += m[j] != 0;
    }
  }
  EXPECT_GT(item_pixels, 0);
}

}  // namespace
}  // namespace ringmaster::models
