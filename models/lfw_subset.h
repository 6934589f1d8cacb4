// scikit-image's lfw_subset.npy as a classification data set: 200 greyscale
// 25x25 crops from Labeled Faces in the Wild, float64 in [0, 1]; rows 0-99
// are faces (class 1), rows 100-199 are not (class 0). Each image is resized
// by bilinear interpolation to image_size (TensorFlow's resizeBilinear
// without half-pixel centres, what face-api applies to tensor inputs),
// rounded to u8 and its grey copied to three channels (RGB), so a model
// such as face_resnet sees what face-api would. No train/test split here
// (the trainer splits by seed); no other LFW data.
//
// Errors: ops::Error naming the file (see npy.h), or a shape other than
// (200, H, W), or a value outside [0, 1]. Blocks on the file read.
#pragma once

#include <cstdint>
#include <string>

#include "models/dataset.h"

namespace ringmaster::models {

// (200, 3, image_size, image_size) u8, num_classes 2. image_size 0: keep the
// file's size.
Dataset load_lfw_subset(const std::string& npy_path, int64_t image_size = 150);

}  // namespace ringmaster::models
