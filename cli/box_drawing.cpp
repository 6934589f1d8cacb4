// box_drawing (see box_drawing.h). stb_easy_font turns text into quads,
// which are filled here as rectangles.
#include "cli/box_drawing.h"

#include <algorithm>
#include <cstring>
#include <vector>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#include <stb/stb_easy_font.h>
#pragma GCC diagnostic pop

namespace ringmaster::cli {
namespace {

void fill(Picture& p, int64_t x1, int64_t y1, int64_t x2, int64_t y2, Rgb c) {
  x1 = std::clamp<int64_t>(x1, 0, p.w);
  x2 = std::clamp<int64_t>(x2, 0, p.w);
  y1 = std::clamp<int64_t>(y1, 0, p.h);
  y2 = std::clamp<int64_t>(y2, 0, p.h);
  for (int64_t y = y1; y < y2; ++y)
    for (int64_t x = x1; x < x2; ++x)
      std::copy(c.begin(), c.end(), p.px.begin() + (y * p.w + x) * 3);
}

}  // namespace

Picture enlarged_rgb(const Picture& p, int64_t scale) {
  Picture out{p.w * scale, p.h * scale, 3, {}};
  out.px.resize(static_cast<size_t>(out.w * out.h * 3));
  for (int64_t y = 0; y < out.h; ++y) {
    for (int64_t x = 0; x < out.w; ++x) {
      const int64_t src = ((y / scale) * p.w + x / scale) * p.channels;
      for (int64_t k = 0; k < 3; ++k)
        out.px[static_cast<size_t>((y * out.w + x) * 3 + k)] =
            p.px[static_cast<size_t>(src + (p.channels == 3 ? k : 0))];
    }
  }
  return out;
}

void draw_rectangle(Picture& p, int64_t x1, int64_t y1, int64_t x2, int64_t y2, Rgb colour,
                    int64_t thickness) {
  fill(p, x1, y1, x2, y1 + thickness, colour);
  fill(p, x1, y2 - thickness, x2, y2, colour);
  fill(p, x1, y1, x1 + thickness, y2, colour);
  fill(p, x2 - thickness, y1, x2, y2, colour);
}

void draw_label(Picture& p, int64_t x, int64_t y, const std::string& text, Rgb colour,
                int64_t size) {
  std::vector<char> chars(text.begin(), text.end());
  chars.push_back('\0');
  const int64_t w = stb_easy_font_width(chars.data()), h = stb_easy_font_height(chars.data());
  fill(p, x, y, x + (w + 3) * size, y + (h + 2) * size, Rgb{20, 20, 20});
  // 4 vertices of 16 bytes per quad (x, y, z floats and an RGBA colour),
  // drawn from (0, 0) and placed scaled.
  std::vector<char> quads(static_cast<size_t>(text.size()) * 64 * 16 + 1024);
  unsigned char rgba[4] = {colour[0], colour[1], colour[2], 255};
  const int n = stb_easy_font_print(2.0f, 1.0f, chars.data(), rgba, quads.data(),
                                    static_cast<int>(quads.size()));
  const auto at = [&](float v, int64_t origin) { return origin + static_cast<int64_t>(v) * size; };
  for (int q = 0; q < n; ++q) {
    float v[16];
    std::memcpy(v, quads.data() + q * 64, sizeof v);
    // Corners (v[0], v[1]) and (v[8], v[9]): top-left and bottom-right.
    fill(p, at(v[0], x), at(v[1], y), at(v[8], x), at(v[9], y), colour);
  }
}

Rgb class_colour(int64_t k) {
  static const Rgb palette[] = {{230, 25, 75},  {60, 180, 75},   {255, 225, 25}, {0, 130, 200},
                                {245, 130, 48}, {145, 30, 180},  {70, 240, 240}, {240, 50, 230},
                                {210, 245, 60}, {250, 190, 212}, {0, 128, 128},  {220, 190, 255}};
  return palette[static_cast<size_t>(k) % (sizeof palette / sizeof palette[0])];
}

}  // namespace ringmaster::cli
