// Boxes from instance masks: tight boxes in pixel-edge coordinates, kept
// items first in id order, unlabelled and vanished items dropped, and the
// visibility rule after augmentation counted against the area scale.
#include "models/instance_boxes.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringmaster::models {
namespace {

// A 6 x 8 mask: item 1 a 2 x 3 block at rows 1..2, columns 1..3; item 2 an
// L of 4 pixels; item 3 absent; id 9 is outside m and ignored.
std::vector<uint8_t> mask() {
  return {0, 0, 0, 0, 0, 0, 0, 0,  //
          0, 1, 1, 1, 0, 0, 2, 0,  //
          0, 1, 1, 1, 0, 0, 2, 0,  //
          0, 0, 0, 0, 0, 0, 2, 2,  //
          0, 0, 9, 0, 0, 0, 0, 0,  //
          0, 0, 0, 0, 0, 0, 0, 0};
}

TEST(InstanceBoxes, CountsPixelsPerId) {
  const std::vector<uint8_t> m = mask();
  EXPECT_EQ(instance_pixel_counts(m.data(), 6, 8, 3), (std::vector<int64_t>{6, 4, 0}));
}

TEST(InstanceBoxes, TightBoxesInPixelEdges) {
  const std::vector<uint8_t> m = mask();
  const int64_t classes[3] = {4, 7, 2};
  float boxes[12];
  int64_t box_classes[3];
  ASSERT_EQ(write_instance_boxes(m.data(), 6, 8, classes, 3, {}, boxes, box_classes), 2);
  // Item 1: columns 1..3, rows 1..2 -> [1, 4) x [1, 3); item 2: columns
  // 6..7, rows 1..3 -> [6, 8) x [1, 4). Item 3 has no pixels: no box.
  EXPECT_EQ(std::vector<float>(boxes, boxes + 12),
            (std::vector<float>{1, 1, 4, 3, 6, 1, 8, 4, 0, 0, 0, 0}));
  EXPECT_EQ(std::vector<int64_t>(box_classes, box_classes + 3), (std::vector<int64_t>{4, 7, -1}));
}

TEST(InstanceBoxes, UnlabelledItemsGetNoBox) {
  const std::vector<uint8_t> m = mask();
  const int64_t classes[3] = {-1, 7, 2};
  float boxes[12];
  int64_t box_classes[3];
  ASSERT_EQ(write_instance_boxes(m.data(), 6, 8, classes, 3, {}, boxes, box_classes), 1);
  EXPECT_EQ(box_classes[0], 7);
  EXPECT_EQ(boxes[0], 6.0f);
}

TEST(InstanceBoxes, VisibilityRuleCountsTheAreaScale) {
  const std::vector<uint8_t> m = mask();
  const int64_t classes[3] = {4, 7, 2};
  float boxes[12];
  int64_t box_classes[3];
  // Before augmentation item 1 had 12 pixels and item 2 had 8: now 6 of 12
  // (0.5, kept at min_visible 0.5) and 4 of 8 (kept).
  const int64_t before[3] = {12, 8, 5};
  EXPECT_EQ(write_instance_boxes(m.data(), 6, 8, classes, 3,
                                 {.before = before, .area_scale = 1.0, .min_visible = 0.5}, boxes,
                                 box_classes),
            2);
  // Zoomed by 2 (areas x4), item 1 should have 48 pixels and has 6: dropped;
  // so is item 2 (4 of 32).
  EXPECT_EQ(write_instance_boxes(m.data(), 6, 8, classes, 3,
                                 {.before = before, .area_scale = 4.0, .min_visible = 0.5}, boxes,
                                 box_classes),
            0);
  // A stricter rule (0.6) keeps item 1, all of whose 6 pixels remain, and
  // drops item 2 (4 of 8).
  const int64_t before2[3] = {6, 8, 5};
  EXPECT_EQ(write_instance_boxes(m.data(), 6, 8, classes, 3,
                                 {.before = before2, .area_scale = 1.0, .min_visible = 0.6}, boxes,
                                 box_classes),
            1);
  EXPECT_EQ(box_classes[0], 4);
}

}  // namespace
}  // namespace ringmaster::models
