// Image files decoded for the data sets and the commands that read pictures:
// PNG through libpng, JPEG through libjpeg-turbo (TurboJPEG), both Debian's
// security-maintained libraries; binary PNM (P5 grey, P6 RGB, 8-bit) by our
// own parser; BMP through stb_image. The format is told by the file's first
// bytes, not its name. GIF and TGA are not read: stb_image 2.27, what
// Debian 12 ships, has known memory-safety bugs in those decoders (and in
// its 16-bit PNG path, hence libpng).
//
// Errors throw ops::Error naming the file: unreadable, larger than
// kMaxImageFileBytes, of another format, damaged, or larger than
// kMaxImageSide on a side or kMaxImagePixels in all (checked from the
// header, before decoding).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringmaster::models {

inline constexpr int64_t kMaxImageSide = 16384;
inline constexpr int64_t kMaxImagePixels = int64_t{1} << 26;  // 64 Mpx: 256 MB decoded as RGBA
inline constexpr int64_t kMaxImageFileBytes = int64_t{256} << 20;

struct ImageHeader {
  int64_t width = 0, height = 0;
  int64_t channels = 0;  // as stored: 1 grey, 3 colour (alpha and palettes aside)
};

// The header alone (reads the whole file for JPEG; PNG and PNM stop early).
ImageHeader read_image_header(const std::string& path);

// The pixels as `channels` (1 or 3) interleaved bytes, row-major:
// (height, width, channels). Colour to grey by luminance (77 R + 150 G +
// 29 B) / 256, grey to colour by repetition; alpha is dropped (the stored
// colour kept), palettes expanded; 16-bit PNG samples are converted to 8
// bits by libpng, PNM samples scaled from maxval to 255.
std::vector<uint8_t> decode_image(const std::string& path, int64_t channels, ImageHeader& header);

}  // namespace ringmaster::models
