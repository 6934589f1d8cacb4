// Selective search: the graph-based segmentation finds flat regions
// exactly; the proposals hold the boxes of distinct objects; and on
// held-out Fashion-MNIST composites (128 px, 1 to 4 items, scale jitter)
// nearly every item has a proposal overlapping it by IoU >= 0.5.
#include "models/selective_search.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "models/composites.h"
#include "models/instance_boxes.h"

namespace ringmaster::models {
namespace {

// A 40 x 60 grey image: background 30, a rectangle of 200 at columns
// 5..19, rows 4..13, and one of 120 at columns 30..54, rows 20..35.
std::vector<uint8_t> two_rectangles() {
  std::vector<uint8_t> px(40 * 60, 30);
  for (int y = 4; y < 14; ++y)
    for (int x = 5; x < 20; ++x) px[static_cast<size_t>(y * 60 + x)] = 200;
  for (int y = 20; y < 36; ++y)
    for (int x = 30; x < 55; ++x) px[static_cast<size_t>(y * 60 + x)] = 120;
  return px;
}

TEST(SelectiveSearch, SegmentsFlatRegionsExactly) {
  const std::vector<uint8_t> px = two_rectangles();
  std::vector<int64_t> ids;
  ASSERT_EQ(felzenszwalb_segments(px.data(), 1, 40, 60, 150.0, 0.0, 20, ids), 3);
  EXPECT_EQ(ids[0], ids[39 * 60 + 59]);           // background corners
  EXPECT_EQ(ids[4 * 60 + 5], ids[13 * 60 + 19]);  // the first rectangle
  EXPECT_NE(ids[4 * 60 + 5], ids[0]);
  EXPECT_EQ(ids[20 * 60 + 30], ids[35 * 60 + 54]);  // the second
  EXPECT_NE(ids[20 * 60 + 30], ids[4 * 60 + 5]);
}

TEST(SelectiveSearch, ProposesEachObjectsBox) {
  const std::vector<uint8_t> px = two_rectangles();
  const std::vector<Box4> boxes = selective_search(px.data(), 1, 40, 60, {});
  const auto has = [&](Box4 b) { return std::find(boxes.begin(), boxes.end(), b) != boxes.end(); };
  EXPECT_TRUE(has({5, 4, 20, 14}));
  EXPECT_TRUE(has({30, 20, 55, 36}));
  EXPECT_TRUE(has({0, 0, 60, 40}));  // the last merge: everything
  EXPECT_EQ(boxes.front(), (Box4{0, 0, 60, 40}));
}

float iou(const Box4& a, const float* b) {
  const float iw = std::max(0.0f, std::min(a[2], b[2]) - std::max(a[0], b[0]));
  const float ih = std::max(0.0f, std::min(a[3], b[3]) - std::max(a[1], b[1]));
  const float u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih;
  return u > 0 ? iw * ih / u : 0.0f;
}

TEST(SelectiveSearch, FindsTheItemsOfCompositesAlmostAlways) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir + "/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << dir << " missing: run scripts/install-deps.sh";
  const Dataset items =
      load_idx(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz");
  const Dataset c = make_composites(items, {.count = 40,
                                            .size = 128,
                                            .max_items = 4,
                                            .seed = 2,
                                            .scale_min = 0.75,
                                            .scale_max = 2.0,
                                            .instances = true});
  BatchLoader loader(c, {.batch_size = 40, .shuffle = false, .prefetch = false});
  const auto b = loader.next();
  int64_t items_seen = 0, found = 0, proposals = 0;
  for (int64_t i = 0; i < 40; ++i) {
    const std::vector<Box4> boxes =
        selective_search(c.images.data<uint8_t>() + i * 128 * 128, 1, 128, 128, {});
    proposals += static_cast<int64_t>(boxes.size());
    for (int64_t j = 0; j < 4; ++j) {
      if (b->box_classes.data<int64_t>()[i * 4 + j] < 0) continue;
      const float* truth = b->boxes.data<float>() + (i * 4 + j) * 4;
      ++items_seen;
      float best = 0.0f;
      for (const Box4& p : boxes) best = std::max(best, iou(p, truth));
      found += best >= 0.5f;
    }
  }
  const double recall = static_cast<double>(found) / static_cast<double>(items_seen);
  std::printf(
      "selective search on 40 composites: recall at IoU 0.5 %.3f of %lld items, %.1f "
      "proposals per image\n",
      recall, static_cast<long long>(items_seen), static_cast<double>(proposals) / 40.0);
  EXPECT_GE(recall, 0.93);  // measured 0.957 with 181 proposals per image
}

}  // namespace
}  // namespace ringmaster::models
