// Drawing detections on a picture for people to look at: the picture
// enlarged (nearest pixel) into RGB, rectangles, and short labels in
// stb_easy_font's bitmap font on a dark band. Plain pixel loops; nothing
// anti-aliased.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "cli/image_io.h"

namespace ringmaster::cli {

using Rgb = std::array<uint8_t, 3>;

// p (grey or RGB) enlarged `scale` times, as RGB.
Picture enlarged_rgb(const Picture& p, int64_t scale);
// The outline of [x1, x2) x [y1, y2) (clipped to the picture), `thickness`
// pixels inward.
void draw_rectangle(Picture& p, int64_t x1, int64_t y1, int64_t x2, int64_t y2, Rgb colour,
                    int64_t thickness);
// text (ASCII) with its top-left corner at (x, y), on a dark band; the
// font's pixels drawn size x size.
void draw_label(Picture& p, int64_t x, int64_t y, const std::string& text, Rgb colour,
                int64_t size = 1);
// A colour per class, distinct for the first dozen.
Rgb class_colour(int64_t k);

}  // namespace ringmaster::cli
