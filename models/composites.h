// Synthetic segmentation and detection data from real pieces: Fashion-MNIST
// (or any grey classification) items pasted at random places on a smooth
// random texture, each item optionally scaled (bilinear) by a factor drawn in
// [scale_min, scale_max], with exact per-pixel masks (an item's pixels are
// those brighter than the threshold; later items occlude earlier ones).
// Every image is a pure function of (seed, index). It does not rotate or
// colour the items.
//
// Two kinds of masks:
//  - class masks (the default, segmentation): 0 background, 1 + item label;
//  - instance masks (`instances`, detection): 0 background, k + 1 for the
//    image's k-th item, whose class (1 + label) is instance_classes[k]. An
//    item of which fewer than min_visible of its own pixels stay visible
//    after the later items are pasted is not labelled: its class becomes -1
//    and its mask pixels 0 (its visible pixels stay in the image, as an
//    unlabelled distractor). Boxes are then the tight boxes of the visible
//    pixels (instance_boxes.h).
#pragma once

#include <cstdint>

#include "models/dataset.h"

namespace ringmaster::models {

struct CompositeOptions {
  int64_t count = 1000;    // images
  int64_t size = 64;       // square canvas; items (scaled by scale_max) must fit
  int64_t max_items = 3;   // 1..max_items items per image
  int64_t threshold = 40;  // item pixels above this are the item
  uint64_t seed = 1;
  double scale_min = 1.0, scale_max = 1.0;  // item side factor, uniform; 1, 1: no draw
  bool instances = false;                   // instance masks and instance_classes
  double min_visible = 0.5;                 // instances: labelled items keep this share
};

// items: (N, 1, h, w) u8 with h, w <= size. Returns (count, 1, size, size)
// images, (count, size, size) masks, num_classes = items.num_classes + 1,
// and labels = the class of each image's first item; with `instances`,
// instance masks, instance_classes (count, max_items) and min_visible.
// Bad options throw ops::Error naming the option. Blocks while it draws (a
// few ms per thousand 64 px images).
Dataset make_composites(const Dataset& items, const CompositeOptions& o);

}  // namespace ringmaster::models
