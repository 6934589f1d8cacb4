// Captioned images from a COCO-style captions file (what COCO's
// captions_train2017.json holds): {"images": [{"id", "file_name"}, ...],
// "annotations": [{"image_id", "caption"}, ...]}, other keys ignored. Each
// listed image with at least one caption is read from the images folder
// (models/image_folder.h: grey or RGB, resized to size x size), in the
// order of "images"; its captions become sentences of lower-case words
// (letters and digits; everything else separates words), cut to max_words,
// `references` per image: an image with fewer repeats its own in order, one
// with more keeps the first. Blocks while reading.
//
// Errors throw ops::Error naming the file and the entry: a file that is not
// such JSON, an image id listed twice, a caption of an image not listed, a
// file_name that is absolute or climbs out of the images folder, an image
// that cannot be read, no captioned image at all.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/caption_composites.h"

namespace ringmaster::models {

struct CocoCaptionOptions {
  int64_t size = 64;                     // images resized to size x size
  int64_t channels = 3;                  // 1 grey, 3 RGB
  int64_t references = 5;                // sentences per image
  int64_t max_words = 30;                // words kept of a caption
  int64_t max_bytes = int64_t{1} << 30;  // larger annotation files are refused unread
};

// `annotations`: the JSON file; `images`: the folder its file_names are in.
CaptionedImages load_coco_captions(const std::string& annotations, const std::string& images,
                                   const CocoCaptionOptions& o);

// A caption as load_coco_captions keeps it: lower-case words joined by one
// space ("A man, riding." -> "a man riding"), at most max_words of them.
std::string caption_words(const std::string& caption, int64_t max_words);

}  // namespace ringmaster::models
