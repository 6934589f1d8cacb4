// Boxes from instance masks: the tight box of each item's pixels, which is
// how detection data keeps its boxes right through any geometric
// augmentation (the mask moves with the pixels; rotation boxes the rotated
// mask). An item that augmentation pushed mostly out of the frame is
// dropped by the same visibility rule that composites apply to occlusion.
// Pure functions on caller buffers; no allocation beyond small scratch.
#pragma once

#include <cstdint>
#include <vector>

namespace ringmaster::models {

// Pixels of each item id 1..m in an (h, w) instance mask (index k for id
// k + 1; other ids are not counted).
std::vector<int64_t> instance_pixel_counts(const uint8_t* mask, int64_t h, int64_t w, int64_t m);

// Unlabels the items of one instance mask (`pixels` ids) that are less than
// min_visible visible: full[k], item k + 1's pixels before later items
// covered it; a hidden item's class becomes -1 and its pixels 0.
void unlabel_hidden_items(uint8_t* mask, int64_t pixels, const std::vector<int64_t>& full,
                          double min_visible, int64_t* classes);

// What decides whether an item keeps its box after augmentation: it needs
// at least min_visible x before[k] x area_scale pixels (area_scale: how the
// steps scaled areas, Augmenter::apply). before null: any pixel will do.
struct VisibilityRule {
  const int64_t* before = nullptr;  // (m) pixels before augmentation, or null
  double area_scale = 1.0;
  double min_visible = 0.5;
};

// Writes the boxes of the items of an (h, w) instance mask whose class
// (classes[k], for id k + 1) is >= 0 and that pass `rule`: boxes (m, 4) f32
// (x1, y1, x2, y2), a pixel (x, y) covering [x, x + 1) x [y, y + 1), and
// box_classes (m); the kept items first, in id order, the other rows 0 and
// -1. Returns the number of boxes.
int64_t write_instance_boxes(const uint8_t* mask, int64_t h, int64_t w, const int64_t* classes,
                             int64_t m, const VisibilityRule& rule, float* boxes,
                             int64_t* box_classes);

}  // namespace ringmaster::models
