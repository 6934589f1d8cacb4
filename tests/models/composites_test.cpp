// Segmentation composites: masks are exact (item pixels above the threshold
// carry 1 + the item's label, the rest is textured background), images are
// a pure function of (seed, index), subsets keep the masks, and the batch
// loader hands out (B, H, W) i64 masks, augmented with their images.
#include "models/composites.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <vector>

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

// Detection composites: instance masks hold item ids, each labelled item is
// at least min_visible visible (the squares have 20 x 14 = 280 pixels, so
// 140), an unlabelled item has no mask pixels left, and some items of a
// crowded canvas are unlabelled.
TEST(Composites, InstancesAreLabelledWhenVisibleEnough) {
  const Dataset c = make_composites(
      squares(), {.count = 200, .size = 40, .max_items = 4, .instances = true, .min_visible = 0.5});
  ASSERT_EQ(c.instance_classes.shape(), (ops::Shape{200, 4}));
  int64_t labelled = 0, hidden = 0;
  for (int64_t k = 0; k < 200; ++k) {
    const uint8_t* mask = c.masks.data<uint8_t>() + k * 1600;
    const uint8_t* img = c.images.data<uint8_t>() + k * 1600;
    std::vector<int64_t> pixels(5);
    for (int64_t j = 0; j < 1600; ++j) {
      ASSERT_LE(mask[j], 4);
      ++pixels[mask[j]];
    }
    for (int64_t it = 0; it < 4; ++it) {
      const int64_t cls = c.instance_classes.data<int64_t>()[k * 4 + it];
      if (cls < 0) {
        EXPECT_EQ(pixels[static_cast<size_t>(it + 1)], 0) << k << " " << it;
        // Slots after the drawn items stay -1 too; a -1 before a labelled
        // item is surely an item hidden by later ones.
        for (int64_t later = it + 1; later < 4; ++later)
          if (c.instance_classes.data<int64_t>()[k * 4 + later] >= 0) {
            ++hidden;
            break;
          }
        continue;
      }
      ++labelled;
      EXPECT_GE(pixels[static_cast<size_t>(it + 1)], 140) << k << " " << it;
      for (int64_t j = 0; j < 1600; ++j) {  // the item's pixels carry its class's value
        if (mask[j] == it + 1) {
          ASSERT_EQ(img[j], 50 + 40 * (cls - 1));
        }
      }
    }
  }
  EXPECT_GT(labelled, 250);  // of about 500 drawn on a crowded 40 px canvas
  EXPECT_GT(hidden, 5);
}

// Scale jitter: item sides range over [scale_min, scale_max] x 14 px (the
// squares' width), seen through the boxes the loader gives; without jitter
// every box is exactly 14 x 20 or cut by occlusion.
TEST(Composites, ScaleJitterGivesSeveralSizes) {
  const Dataset c = make_composites(squares(), {.count = 100,
                                                .size = 64,
                                                .max_items = 1,
                                                .scale_min = 0.75,
                                                .scale_max = 2.0,
                                                .instances = true});
  BatchLoader loader(c, {.batch_size = 100, .shuffle = false});
  const auto b = loader.next();
  ASSERT_TRUE(b.has_value());
  ASSERT_EQ(b->boxes.shape(), (ops::Shape{100, 1, 4}));
  float narrowest = 1e9f, widest = 0.0f;
  for (int64_t k = 0; k < 100; ++k) {
    ASSERT_GE(b->box_classes.data<int64_t>()[k], 1);  // one item, never hidden
    const float* box = b->boxes.data<float>() + k * 4;
    narrowest = std::min(narrowest, box[2] - box[0]);
    widest = std::max(widest, box[2] - box[0]);
    EXPECT_NEAR((box[3] - box[1]) / (box[2] - box[0]), 20.0 / 14.0, 0.15);
  }
  EXPECT_LT(narrowest, 13.0f);  // 0.75 x 14 = 10.5
  EXPECT_GT(widest, 24.0f);     // 2 x 14 = 28
  EXPECT_THROW(make_composites(squares(), {.count = 1, .size = 48, .scale_max = 2.0}),
               ops::Error);  // 56 px items
  EXPECT_THROW(make_composites(squares(), {.count = 1, .scale_min = 0.0}), ops::Error);
  EXPECT_THROW(make_composites(squares(), {.count = 1, .scale_min = 1.5, .scale_max = 1.2}),
               ops::Error);
  EXPECT_THROW(make_composites(squares(), {.count = 1, .min_visible = 1.5}), ops::Error);
}

// Boxes move with the pixels: a flip mirrors them (x -> W - x), and a zoom that pushes items out of
// the frame drops those less than min_visible visible.
TEST(Composites, AugmentationMovesBoxesWithPixels) {
  const Dataset c =
      make_composites(squares(), {.count = 40, .size = 48, .max_items = 3, .instances = true});
  BatchLoader plain(c, {.batch_size = 40, .shuffle = false});
  const auto base = plain.next();
  ASSERT_TRUE(base.has_value());
  auto loaded = [&](AugmentStep step) {
    auto aug = std::make_shared<Augmenter>(std::vector<AugmentStep>{step});
    BatchLoader l(c, {.batch_size = 40, .shuffle = false, .augment = aug});
    return *l.next();
  };
  AugmentStep flip;
  flip.p = 1.0;
  const Batch flipped = loaded(flip);
  const float* b0 = base->boxes.data<float>();
  const float* b1 = flipped.boxes.data<float>();
  for (int64_t r = 0; r < 40 * 3; ++r) {
    ASSERT_EQ(base->box_classes.data<int64_t>()[r], flipped.box_classes.data<int64_t>()[r]);
    if (base->box_classes.data<int64_t>()[r] < 0) continue;
    EXPECT_EQ(b1[r * 4 + 0], 48.0f - b0[r * 4 + 2]);
    EXPECT_EQ(b1[r * 4 + 1], b0[r * 4 + 1]);
    EXPECT_EQ(b1[r * 4 + 2], 48.0f - b0[r * 4 + 0]);
    EXPECT_EQ(b1[r * 4 + 3], b0[r * 4 + 3]);
  }
  AugmentStep zoom;
  zoom.kind = AugmentStep::Kind::scale;
  zoom.min_scale = zoom.max_scale = 2.5;
  const Batch zoomed = loaded(zoom);
  int64_t before = 0, after = 0;
  for (int64_t r = 0; r < 40 * 3; ++r) {
    before += base->box_classes.data<int64_t>()[r] >= 0;
    after += zoomed.box_classes.data<int64_t>()[r] >= 0;
  }
  EXPECT_LT(after, before);  // items near the edges leave the frame
  EXPECT_GT(after, 0);
}

}  // namespace
}  // namespace ringmaster::models
