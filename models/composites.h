// Synthetic segmentation data from real pieces: Fashion-MNIST (or any grey
// classification) items pasted at random places on a smooth random texture,
// with exact per-pixel masks (0 background, 1 + item label where an item's
// pixel is brighter than the threshold; later items occlude earlier ones).
// Every image is a pure function of (seed, index). It does not scale, rotate
// or colour the items, and it makes no instance masks or boxes.
#pragma once

#include <cstdint>

#include "models/dataset.h"

namespace ringmaster::models {

struct CompositeOptions {
  int64_t count = 1000;    // images
  int64_t size = 64;       // square canvas; items must fit
  int64_t max_items = 3;   // 1..max_items items per image
  int64_t threshold = 40;  // item pixels above this are the item
  uint64_t seed = 1;
};

// items: (N, 1, h, w) u8 with h, w <= size. Returns (count, 1, size, size)
// images, (count, size, size) masks, num_classes = items.num_classes + 1,
// and labels = the class of each image's first item. Bad options throw
// ops::Error. Blocks while it draws (a few ms per thousand 64 px images).
Dataset make_composites(const Dataset& items, const CompositeOptions& o);

}  // namespace ringmaster::models
