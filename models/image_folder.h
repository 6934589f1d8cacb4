// Image folders, torchvision's ImageFolder layout: one sub-folder per class,
// named by the class, holding its images (PNG, JPEG, BMP, binary PGM/PPM;
// models/image_file.h decodes them). Classes are the sub-folders sorted by
// name, the images of each sorted by file name; files of other extensions
// and names starting with "." are skipped, like torchvision does. Every image is
// decoded to `channels` (grey from colour by luminance, colour from grey by
// repetition, alpha dropped) and, when `size` is set, resized to
// size x size (stb_image_resize's default filters, which smooth when
// shrinking). Blocks while reading.
//
// Errors throw ops::Error naming the folder or file: no class folder, a
// class folder without images, an image that cannot be decoded or is too
// large (image_file.h), images of several sizes (or not square) without
// `size`, and a class of `classes` is not given (see below).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dataset.h"
#include "models/image_file.h"

namespace ringmaster::models {

struct ImageFolderOptions {
  int64_t channels = 0;  // 1 grey, 3 RGB; 0: 3 when any image has colour, else 1
  int64_t size = 0;      // resize to size x size; 0: keep the images' one square size
};

// The class folders of `root`, sorted (what load_image_folder numbers).
std::vector<std::string> image_folder_classes(const std::string& root);

// One image file as (channels, size, size) u8 planes, converted and resized
// as load_image_folder does (channels 1 or 3; size >= 1), so a model trained
// on a folder sees a new image as it saw those; `file` (if given) gets the
// file's own header. Throws ops::Error naming it.
std::vector<uint8_t> read_image_planes(const std::string& path, int64_t channels, int64_t size,
                                       ImageHeader* file = nullptr);

// (N, C, S, S) u8 images and their labels. `classes`: the class numbering
// to use (another split's, so a test folder's classes get the training
// folder's labels); a sub-folder of root not among them is refused. Empty:
// image_folder_classes(root). num_classes and class_names are those classes.
Dataset load_image_folder(const std::string& root, const ImageFolderOptions& options,
                          const std::vector<std::string>& classes = {});

}  // namespace ringmaster::models
