// lfw_subset loader (see lfw_subset.h): .npy, labels by row, bilinear resize
// with ops::resize_bilinear (asymmetric coordinates, as tf.image.resizeBilinear
// with align_corners and half_pixel_centers false), grey to RGB.
#include "models/lfw_subset.h"

#include <algorithm>
#include <cmath>

#include "models/npy.h"
#include "ops/autograd.h"
#include "ops/resize.h"

namespace ringmaster::models {

namespace {
constexpr int64_t kImages = 200, kFaces = 100;
}  // namespace

Dataset load_lfw_subset(const std::string& npy_path, int64_t image_size) {
  const NpyArray a = load_npy(npy_path);
  RM_THROW_IF(a.shape.size() != 3 || a.shape[0] != kImages || a.shape[1] < 1 || a.shape[2] < 1,
              npy_path, ": lfw_subset is (200, H, W) (100 faces, then 100 non-faces), got ",
              ops::shape_str(a.shape));
  RM_THROW_IF(image_size < 0, "lfw-subset: image_size ", image_size, " is negative");
  const int64_t h = a.shape[1], w = a.shape[2];
  std::vector<float> grey(a.values.size());
  for (size_t i = 0; i < a.values.size(); ++i) {
    const double v = a.values[i];
    RM_THROW_IF(!(v >= 0.0 && v <= 1.0), npy_path, ": value ", v, " at flat index ", i,
                " is outside [0, 1]");
    grey[i] = static_cast<float>(v);
  }
  ops::Tensor x = ops::Tensor::from_vector(grey, {kImages, 1, h, w});  // (200, 1, H, W)
  const int64_t oh = image_size > 0 ? image_size : h, ow = image_size > 0 ? image_size : w;
  if (oh != h || ow != w) {
    ops::NoGradGuard no_grad;
    ops::ResizeParams p = ops::ResizeParams::to(oh, ow);
    p.coordinates = ops::ResizeCoordinates::asymmetric;
    x = ops::resize_bilinear(x, p).to_plain();  // (200, 1, oh, ow)
  }
  Dataset ds;
  ds.num_classes = 2;
  ds.images = ops::Tensor::empty({kImages, 3, oh, ow}, ops::DType::u8);
  const float* src = x.data<float>();
  uint8_t* dst = ds.images.data<uint8_t>();
  const int64_t plane = oh * ow;
  for (int64_t n = 0; n < kImages; ++n) {
    for (int64_t i = 0; i < plane; ++i) {
      const float v = std::clamp(src[n * plane + i], 0.0f, 1.0f);
      const auto q = static_cast<uint8_t>(std::lround(v * 255.0f));
      for (int64_t c = 0; c < 3; ++c) dst[(n * 3 + c) * plane + i] = q;
    }
    ds.labels.push_back(n < kFaces ? 1 : 0);
  }
  return ds;
}

}  // namespace ringmaster::models
