// image_io (see image_io.h).
#include "cli/image_io.h"

#include <stb/stb_image_write.h>

#include <algorithm>

#include "models/image_file.h"
#include "models/image_folder.h"
#include "ops/check.h"

namespace ringmaster::cli {
namespace {

// (c, s, s) u8 planes as the model's (1, c, s, s) input, pixels / 255.
ops::Tensor model_input(const std::vector<uint8_t>& planes, int64_t c, int64_t s) {
  ops::Tensor x = ops::Tensor::empty({1, c, s, s});
  std::transform(planes.begin(), planes.end(), x.data<float>(),
                 [](uint8_t v) { return static_cast<float>(v) / 255.0f; });
  return x;
}

}  // namespace

Picture read_picture(const std::string& path, int64_t channels) {
  models::ImageHeader h;
  std::vector<uint8_t> px = models::decode_image(path, channels, h);
  return Picture{h.width, h.height, channels, std::move(px)};
}

ops::Tensor read_image(const std::string& path, int64_t c, int64_t s) {
  models::ImageHeader file;
  const std::vector<uint8_t> planes = models::read_image_planes(path, c, s, &file);
  if (file.width != s || file.height != s)
    throw ops::Error(path + ": " + std::to_string(file.width) + "x" + std::to_string(file.height) +
                     " pixels; the model reads " + std::to_string(s) + "x" + std::to_string(s));
  return model_input(planes, c, s);
}

ops::Tensor read_image_resized(const std::string& path, int64_t c, int64_t s) {
  return model_input(models::read_image_planes(path, c, s), c, s);
}

ops::Tensor data_image(const models::Dataset& ds, int64_t i) {
  const int64_t per = ds.images.numel() / ds.size();
  ops::Tensor x = ops::Tensor::empty({1, ds.images.dim(1), ds.images.dim(2), ds.images.dim(3)});
  for (int64_t j = 0; j < per; ++j)
    x.data<float>()[j] = static_cast<float>(ds.images.data<uint8_t>()[i * per + j]) / 255.0f;
  return x;
}

Picture data_picture(const models::Dataset& ds, int64_t i) {
  const int64_t c = ds.images.dim(1), h = ds.images.dim(2), w = ds.images.dim(3);
  Picture p{w, h, c, std::vector<uint8_t>(static_cast<size_t>(w * h * c))};
  for (int64_t k = 0; k < c; ++k)
    for (int64_t j = 0; j < h * w; ++j)
      p.px[static_cast<size_t>(j * c + k)] = ds.images.data<uint8_t>()[(i * c + k) * h * w + j];
  return p;
}

void write_png(const Picture& p, const std::string& path) {
  if (stbi_write_png(path.c_str(), static_cast<int>(p.w), static_cast<int>(p.h),
                     static_cast<int>(p.channels), p.px.data(),
                     static_cast<int>(p.w * p.channels)) == 0)
    throw ops::Error("cannot write " + path);
}

}  // namespace ringmaster::cli
