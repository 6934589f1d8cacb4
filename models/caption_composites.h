// Captioned composites for image captioning (NIC): Fashion-MNIST items on a
// background of one of five kinds (plain, striped, checked, dotted, wavy),
// each image with reference sentences written from its layout: which items,
// how many, where they are relative to each other, and the background.
//
// An image holds one item anywhere, or two (max_items 2) side by side (the
// left one in the canvas's left half) or one above the other. The
// sentences come from a small grammar of six or seven phrasings per layout
// ("a coat to the left of a bag on a striped background", "a bag to the
// right of a coat on a striped background", ...), of which `references`
// distinct ones are drawn per image. Everything is a pure function of
// (seed, index). Words are lower case; "t-shirt" is one word.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dataset.h"

namespace ringmaster::models {

struct CaptionCompositeOptions {
  int64_t count = 4000;    // images
  int64_t size = 64;       // square canvas: at least twice the items' side for two items
  int64_t max_items = 2;   // 1 or 2
  int64_t references = 5;  // sentences per image, 1..6
  int64_t threshold = 40;  // item pixels above this are the item
  uint64_t seed = 1;
};

struct CaptionedImages {
  Dataset images;  // (N, 1, size, size) u8; labels: the first item's class
  std::vector<std::vector<std::string>> captions;  // per image, `references` sentences
};

// items: (N, 1, h, w) grey Fashion-MNIST (its 10 classes). Bad options throw
// ops::Error.
CaptionedImages make_caption_composites(const Dataset& items, const CaptionCompositeOptions& o);

// The background kinds' words, in order ("plain", "striped", ...).
const std::vector<std::string>& background_words();

}  // namespace ringmaster::models
