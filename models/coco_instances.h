// Objects from a COCO-style instances file (what COCO's
// instances_train2017.json holds): "images" [{"id", "file_name", ...}],
// "categories" [{"id", "name"}], "annotations" [{"image_id",
// "category_id", "segmentation", "bbox", "iscrowd"}], other keys ignored.
// Each listed image is read from the images folder (models/image_folder.h:
// grey or RGB, resized to size x size) and gets a mask of its objects,
// drawn at that size: each object's polygons ("segmentation": lists of x, y
// pairs in the image file's pixels, filled even-odd at pixel centres), or its
// "bbox" [x, y, width, height] when it has no polygon. Crowd regions
// (iscrowd 1, run-length encoded) are not drawn. Larger objects are drawn
// first, so a smaller one in front of a larger one stays whole.
//
// Two kinds of mask (`instances`): the class of every pixel (0 background,
// category k of the sorted category ids is k + 1), for segmentation; or
// instance ids (object j of the image is j + 1) with the objects' classes in
// instance_classes, for detection, where an object less than min_visible
// visible after those in front of it is not labelled (as composites.h).
//
// Errors throw ops::Error naming the file and the entry: not such JSON, an
// id listed twice, an object of an unlisted image or category, a polygon
// or box that is not numbers, a file_name outside the images folder, an
// image with more than 255 objects (detection), an image that cannot be
// read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "models/dataset.h"

namespace ringmaster::models {

struct CocoInstanceOptions {
  int64_t size = 128;      // images and masks are size x size
  int64_t channels = 3;    // 1 grey, 3 RGB
  bool instances = false;  // instance ids and classes (detection) instead of class masks
  double min_visible = 0.5;
  int64_t max_bytes = int64_t{1} << 30;  // larger annotation files are refused unread
};

// The category ids of an instances file, sorted: class k + 1 is the k-th.
// With `names`, also their names (background first).
std::vector<int64_t> coco_category_ids(const std::string& annotations,
                                       std::vector<std::string>* names, int64_t max_bytes);

// `categories`: the category ids that number the classes (another split's,
// so both agree); an object of another category is refused.
Dataset load_coco_instances(const std::string& annotations, const std::string& images,
                            const std::vector<int64_t>& categories, const CocoInstanceOptions& o);

// Fills the even-odd interior of a polygon (x, y pairs, in a w x h grid's
// pixel units) with `value` in mask (h, w), at pixel centres. Returns the
// pixels set.
int64_t fill_polygon(const std::vector<double>& xy, int64_t w, int64_t h, uint8_t value,
                     uint8_t* mask);

}  // namespace ringmaster::models
