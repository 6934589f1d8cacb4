// Image decoding (see image_file.h): the file read into memory once, its
// format told by its magic bytes, decoded to RGBA or RGB by the format's
// decoder, then converted to the channels asked for.
#include "models/image_file.h"

#include <png.h>
#include <stb/stb_image.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include "ops/check.h"

namespace ringmaster::models {
namespace {

enum class Format { kPng, kJpeg, kPnm, kBmp };

std::string read_file(const std::string& path) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  RM_THROW_IF(ec, path, ": not an image file we can read (", ec.message(), ")");
  RM_THROW_IF(bytes > static_cast<uint64_t>(kMaxImageFileBytes), path, ": ", bytes,
              " bytes, more than an image file may have (", kMaxImageFileBytes, ")");
  std::ifstream in(path, std::ios::binary);
  std::string data(bytes, '\0');
  in.read(data.data(), static_cast<std::streamsize>(bytes));
  RM_THROW_IF(!in, path, ": not an image file we can read (read failed)");
  return data;
}

Format format_of(const std::string& path, const std::string& d) {
  auto starts = [&](const char* magic, size_t n) {
    return d.size() >= n && d.compare(0, n, magic, n) == 0;
  };
  if (starts("\x89PNG\r\n\x1a\n", 8)) return Format::kPng;
  if (starts("\xff\xd8\xff", 3)) return Format::kJpeg;
  if (starts("P5", 2) || starts("P6", 2)) return Format::kPnm;
  if (starts("BM", 2)) return Format::kBmp;
  throw ops::Error(path + ": not an image we read (PNG, JPEG, binary PGM/PPM or BMP)");
}

void check_side(const std::string& path, const ImageHeader& h) {
  RM_THROW_IF(h.width < 1 || h.height < 1 || h.width > kMaxImageSide || h.height > kMaxImageSide,
              path, ": ", h.width, "x", h.height, " pixels, outside 1..", kMaxImageSide,
              " on a side");
  RM_THROW_IF(h.width * h.height > kMaxImagePixels, path, ": ", h.width, "x", h.height,
              " pixels, more than the ", kMaxImagePixels, " an image may have");
}

// ---- PNG (libpng's simplified API: no setjmp on our side) ----

struct PngImage {
  png_image img{};
  PngImage() { img.version = PNG_IMAGE_VERSION; }
  ~PngImage() { png_image_free(&img); }
};

ImageHeader png_header(const std::string& path, const std::string& d, PngImage& p) {
  RM_THROW_IF(png_image_begin_read_from_memory(&p.img, d.data(), d.size()) == 0, path,
              ": damaged PNG (", p.img.message, ")");
  const ImageHeader h{p.img.width, p.img.height,
                      (p.img.format & PNG_FORMAT_FLAG_COLOR) != 0 ? 3 : 1};
  check_side(path, h);
  return h;
}

std::vector<uint8_t> png_rgba(const std::string& path, const std::string& d, ImageHeader& h) {
  PngImage p;
  h = png_header(path, d, p);
  p.img.format = PNG_FORMAT_RGBA;
  std::vector<uint8_t> px(PNG_IMAGE_SIZE(p.img));
  RM_THROW_IF(png_image_finish_read(&p.img, nullptr, px.data(), 0, nullptr) == 0, path,
              ": damaged PNG (", p.img.message, ")");
  return px;
}

// ---- JPEG (TurboJPEG) ----

struct TurboJpeg {
  tjhandle h = tjInitDecompress();
  ~TurboJpeg() {
    if (h != nullptr) tjDestroy(h);
  }
};

ImageHeader jpeg_header(const std::string& path, const std::string& d, TurboJpeg& tj) {
  RM_THROW_IF(tj.h == nullptr, path, ": cannot start the JPEG decoder");
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  RM_THROW_IF(tjDecompressHeader3(tj.h, reinterpret_cast<const unsigned char*>(d.data()),
                                  static_cast<unsigned long>(d.size()), &w, &h, &subsampling,
                                  &colorspace) != 0,
              path, ": damaged JPEG (", tjGetErrorStr2(tj.h), ")");
  const ImageHeader out{w, h, colorspace == TJCS_GRAY ? 1 : 3};
  check_side(path, out);
  return out;
}

std::vector<uint8_t> jpeg_rgb(const std::string& path, const std::string& d, ImageHeader& h) {
  TurboJpeg tj;
  h = jpeg_header(path, d, tj);
  std::vector<uint8_t> px(static_cast<size_t>(h.width * h.height * 3));
  RM_THROW_IF(
      tjDecompress2(tj.h, reinterpret_cast<const unsigned char*>(d.data()),
                    static_cast<unsigned long>(d.size()), px.data(), static_cast<int>(h.width), 0,
                    static_cast<int>(h.height), TJPF_RGB, TJFLAG_ACCURATEDCT) != 0,
      path, ": damaged JPEG (", tjGetErrorStr2(tj.h), ")");
  return px;
}

// ---- binary PNM (P5, P6; maxval 1..255) ----

struct PnmLayout {
  ImageHeader header;
  size_t data_at = 0;
  int64_t maxval = 255;
};

PnmLayout pnm_layout(const std::string& path, const std::string& d) {
  size_t at = 2;
  int64_t fields[3] = {0, 0, 0};
  for (int64_t& f : fields) {
    while (at < d.size() && (std::isspace(static_cast<unsigned char>(d[at])) || d[at] == '#')) {
      if (d[at] == '#')
        while (at < d.size() && d[at] != '\n') ++at;
      else
        ++at;
    }
    RM_THROW_IF(at >= d.size() || !std::isdigit(static_cast<unsigned char>(d[at])), path,
                ": damaged PNM header");
    while (at < d.size() && std::isdigit(static_cast<unsigned char>(d[at])) && f <= kMaxImageSide)
      f = f * 10 + (d[at++] - '0');
  }
  RM_THROW_IF(at >= d.size() || !std::isspace(static_cast<unsigned char>(d[at])), path,
              ": damaged PNM header");
  RM_THROW_IF(fields[2] < 1 || fields[2] > 255, path, ": PNM maxval ", fields[2],
              " (8-bit files only, maxval 1..255)");
  PnmLayout l{{fields[0], fields[1], d[1] == '6' ? 3 : 1}, at + 1, fields[2]};
  check_side(path, l.header);
  const auto need = static_cast<size_t>(l.header.width * l.header.height * l.header.channels);
  RM_THROW_IF(d.size() - l.data_at < need, path, ": PNM data cut short");
  return l;
}

std::vector<uint8_t> pnm_pixels(const std::string& path, const std::string& d, ImageHeader& h) {
  const PnmLayout l = pnm_layout(path, d);
  h = l.header;
  const auto n = static_cast<size_t>(h.width * h.height * h.channels);
  const auto* p = reinterpret_cast<const uint8_t*>(d.data()) + l.data_at;
  std::vector<uint8_t> px(p, p + n);
  if (l.maxval != 255)  // scaled to 0..255; a sample past maxval is taken as maxval
    for (uint8_t& v : px) v = static_cast<uint8_t>(std::min<int64_t>(v, l.maxval) * 255 / l.maxval);
  return px;
}

// ---- BMP (stb_image) ----

ImageHeader bmp_header(const std::string& path, const std::string& d) {
  int w = 0, h = 0, c = 0;
  RM_THROW_IF(stbi_info_from_memory(reinterpret_cast<const stbi_uc*>(d.data()),
                                    static_cast<int>(d.size()), &w, &h, &c) == 0,
              path, ": damaged BMP (", stbi_failure_reason(), ")");
  const ImageHeader out{w, h, c >= 3 ? 3 : 1};
  check_side(path, out);
  return out;
}

std::vector<uint8_t> bmp_rgb(const std::string& path, const std::string& d, ImageHeader& h) {
  h = bmp_header(path, d);
  int w = 0, ht = 0, stored = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(d.data()), static_cast<int>(d.size()),
                            &w, &ht, &stored, 3),
      stbi_image_free);
  RM_THROW_IF(px == nullptr || w != h.width || ht != h.height, path, ": damaged BMP (",
              px == nullptr ? stbi_failure_reason() : "its size changed", ")");
  return {px.get(), px.get() + static_cast<size_t>(w) * static_cast<size_t>(ht) * 3};
}

// `in` holds `from` interleaved channels (1, 3 or 4: RGBA, alpha dropped);
// the result `to` (1 or 3). Grey input is taken as grey whatever `from`.
std::vector<uint8_t> convert(const std::vector<uint8_t>& in, int64_t from, bool grey, int64_t to,
                             int64_t pixels) {
  std::vector<uint8_t> out(static_cast<size_t>(pixels * to));
  for (int64_t i = 0; i < pixels; ++i) {
    const uint8_t* s = in.data() + i * from;
    uint8_t* o = out.data() + i * to;
    if (to == 3) {
      for (int k = 0; k < 3; ++k) o[k] = from == 1 ? s[0] : s[k];
    } else {
      o[0] = (from == 1 || grey) ? s[0]
                                 : static_cast<uint8_t>((77 * s[0] + 150 * s[1] + 29 * s[2]) >> 8);
    }
  }
  return out;
}

}  // namespace

ImageHeader read_image_header(const std::string& path) {
  const std::string d = read_file(path);
  switch (format_of(path, d)) {
    case Format::kPng: {
      PngImage p;
      return png_header(path, d, p);
    }
    case Format::kJpeg: {
      TurboJpeg tj;
      return jpeg_header(path, d, tj);
    }
    case Format::kPnm:
      return pnm_layout(path, d).header;
    case Format::kBmp:
      return bmp_header(path, d);
  }
  return {};
}

std::vector<uint8_t> decode_image(const std::string& path, int64_t channels, ImageHeader& header) {
  RM_THROW_IF(channels != 1 && channels != 3, "decode_image: channels must be 1 or 3, got ",
              channels);
  const std::string d = read_file(path);
  std::vector<uint8_t> px;
  int64_t stored = 3;
  switch (format_of(path, d)) {
    case Format::kPng:
      px = png_rgba(path, d, header);
      stored = 4;
      break;
    case Format::kJpeg:
      px = jpeg_rgb(path, d, header);
      break;
    case Format::kPnm:
      px = pnm_pixels(path, d, header);
      stored = header.channels;
      break;
    case Format::kBmp:
      px = bmp_rgb(path, d, header);
      break;
  }
  return convert(px, stored, header.channels == 1, channels, header.width * header.height);
}

}  // namespace ringmaster::models
