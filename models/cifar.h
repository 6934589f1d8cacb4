// CIFAR-10 and CIFAR-100 in their binary version (the files of
// cifar-10-batches-bin and cifar-100-binary): fixed-size records, each its
// label byte(s), then 3,072 pixel bytes, 1,024 each of red, green and blue,
// in rows of 32: already the (3, 32, 32) planes a Dataset holds. No Debian
// package ships them; the user brings the files. Blocks while reading.
//
// Errors throw ops::Error naming the file: missing, empty, not a whole number
// of records, or a label outside the classes (naming the record).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dataset.h"

namespace ringmaster::models {

struct CifarFormat {
  int label_bytes = 1;     // CIFAR-10: 1; CIFAR-100: 2 (coarse, then fine)
  int label_index = 0;     // which of them is the label
  int num_classes = 10;    // CIFAR-10: 10; CIFAR-100: 20 coarse or 100 fine
  std::string names_file;  // the class names' file beside the records, one per line ("": none)
};

inline constexpr int64_t kCifarSide = 32;

// (N, 3, 32, 32) u8 of every record of `files`, in order. class_names come
// from format.names_file in the files' folder when it holds one name per
// class (else they stay empty).
Dataset load_cifar(const std::vector<std::string>& files, const CifarFormat& format);

}  // namespace ringmaster::models
