// Images in and out of the commands that run a trained model on pictures
// (caption, detect, classify): image files read as the data's channels
// (models/image_file.h) and size, data-set images as the trainer feeds
// them, and PNGs written (stb_image_write). Errors throw ops::Error naming
// the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dataset.h"
#include "ops/tensor.h"

namespace ringmaster::cli {

// (1, c, s, s) f32 of an image file, pixels / 255; an image of another size
// is refused naming both sizes.
ops::Tensor read_image(const std::string& path, int64_t c, int64_t s);

// The same, of any size: converted and resized as an image folder's images
// are (models::read_image_planes), for models whose output has no
// coordinates (classify, caption).
ops::Tensor read_image_resized(const std::string& path, int64_t c, int64_t s);

// Image i of a u8 (N, C, S, S) data set as (1, C, S, S) f32, pixels / 255.
ops::Tensor data_image(const models::Dataset& ds, int64_t i);

// An 8-bit picture, channels interleaved (grey 1, RGB 3).
struct Picture {
  int64_t w = 0, h = 0, channels = 1;
  std::vector<uint8_t> px;  // (h, w, channels)
};

// Image i of a data set as a picture.
Picture data_picture(const models::Dataset& ds, int64_t i);
// An image file as a picture of its own channels (grey or RGB).
Picture read_picture(const std::string& path, int64_t channels);
void write_png(const Picture& p, const std::string& path);

}  // namespace ringmaster::cli
