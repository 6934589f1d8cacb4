// COCO-style instances loader (see coco_instances.h): categories numbered,
// every image's objects gathered and ordered largest first, then each image
// decoded and its objects drawn into its mask at the data's size.
#include "models/coco_instances.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "models/coco_json.h"
#include "models/image_folder.h"
#include "models/instance_boxes.h"
#include "ops/check.h"

namespace ringmaster::models {
namespace {

constexpr int64_t kMaxObjects = 255;  // instance ids are u8

struct CocoObject {
  int64_t cls = 0;                         // 1..K
  std::vector<std::vector<double>> polys;  // x, y pairs in the image's pixels
  double area = 0.0;                       // for the drawing order
};

struct CocoImage {
  std::string path;
  std::vector<CocoObject> objects;
};

std::vector<double> numbers(const nlohmann::json& a, const std::string& where, const char* what) {
  RM_THROW_IF(!a.is_array(), where, ": ", what, " must be an array of numbers");
  std::vector<double> out;
  for (const nlohmann::json& v : a) {
    RM_THROW_IF(!v.is_number() || !std::isfinite(v.get<double>()), where, ": ", what,
                " must be an array of finite numbers");
    out.push_back(v.get<double>());
  }
  return out;
}

double polygon_area(const std::vector<double>& xy) {
  double twice = 0.0;
  const size_t n = xy.size() / 2;
  for (size_t i = 0; i < n; ++i) {
    const size_t j = (i + 1) % n;
    twice += xy[2 * i] * xy[2 * j + 1] - xy[2 * j] * xy[2 * i + 1];
  }
  return std::abs(twice) / 2.0;
}

// One annotation's shape: its polygons, or its bbox as one. Crowd regions
// (and run-length encoded shapes) give none.
CocoObject object_of(const nlohmann::json& a, int64_t cls, const std::string& where) {
  CocoObject o{cls, {}, 0.0};
  if (a.contains("iscrowd") && a["iscrowd"] == 1) return o;
  const nlohmann::json* seg = a.contains("segmentation") ? &a["segmentation"] : nullptr;
  if (seg != nullptr && seg->is_array() && !seg->empty()) {
    for (const nlohmann::json& p : *seg) {
      std::vector<double> xy = numbers(p, where, "a segmentation polygon");
      if (xy.size() >= 6 && xy.size() % 2 == 0) o.polys.push_back(std::move(xy));
    }
  } else if (seg == nullptr || seg->is_array()) {  // no polygon: the box
    RM_THROW_IF(!a.contains("bbox"), where, ": needs a \"segmentation\" or a \"bbox\"");
    const std::vector<double> b = numbers(a["bbox"], where, "bbox");
    RM_THROW_IF(b.size() != 4 || b[2] < 0.0 || b[3] < 0.0, where,
                ": bbox must be [x, y, width, height] with width, height >= 0");
    o.polys.push_back({b[0], b[1], b[0] + b[2], b[1], b[0] + b[2], b[1] + b[3], b[0], b[1] + b[3]});
  }
  for (const std::vector<double>& p : o.polys) o.area += polygon_area(p);
  return o;
}

std::vector<CocoImage> read_images(const nlohmann::json& j, const std::string& file,
                                   const std::string& folder, const std::vector<int64_t>& cats) {
  const CocoImageList list = read_coco_images(j, file, folder);
  std::vector<CocoImage> images;
  for (const std::string& path : list.paths) images.push_back({path, {}});
  for (size_t i = 0; i < j["annotations"].size(); ++i) {
    const nlohmann::json& a = j["annotations"][i];
    const std::string where = file + ": annotations[" + std::to_string(i) + "]";
    const size_t image = list.of(a, where);
    const int64_t cat = coco_id(a, "category_id", where);
    const auto c = std::lower_bound(cats.begin(), cats.end(), cat);
    RM_THROW_IF(c == cats.end() || *c != cat, where, ": category_id ", cat,
                " is not among the training file's categories");
    CocoObject o = object_of(a, (c - cats.begin()) + 1, where);
    if (!o.polys.empty()) images[image].objects.push_back(std::move(o));
  }
  return images;
}

// Draws im's objects into mask (s, s), largest first; returns each drawn
// object's pixels before those drawn later covered it, and fills classes.
// The coordinates are in the file's pixels (width x height).
std::vector<int64_t> draw_objects(CocoImage& im, const ImageHeader& file, int64_t s, bool instances,
                                  uint8_t* mask, int64_t* classes) {
  std::stable_sort(im.objects.begin(), im.objects.end(),
                   [](const CocoObject& a, const CocoObject& b) { return a.area > b.area; });
  std::fill_n(mask, s * s, uint8_t{0});
  const double sx = static_cast<double>(s) / static_cast<double>(file.width);
  const double sy = static_cast<double>(s) / static_cast<double>(file.height);
  std::vector<int64_t> full;
  for (size_t k = 0; k < im.objects.size(); ++k) {
    const CocoObject& o = im.objects[k];
    const auto id = static_cast<uint8_t>(instances ? k + 1 : static_cast<size_t>(o.cls));
    int64_t drawn = 0;
    for (std::vector<double> xy : o.polys) {
      for (size_t i = 0; i < xy.size(); i += 2) {
        xy[i] *= sx;
        xy[i + 1] *= sy;
      }
      drawn += fill_polygon(xy, s, s, id, mask);
    }
    full.push_back(drawn);
    if (classes != nullptr) classes[k] = o.cls;
  }
  return full;
}

// ceil(v) clamped to [0, w]; NaN (from coordinates past the double range) 0.
int64_t first_pixel_at_or_after(double v, int64_t w) {
  if (!(v > 0.0)) return 0;
  if (v >= static_cast<double>(w)) return w;
  return static_cast<int64_t>(std::ceil(v));
}

}  // namespace

int64_t fill_polygon(const std::vector<double>& xy, int64_t w, int64_t h, uint8_t value,
                     uint8_t* mask) {
  const size_t n = xy.size() / 2;
  int64_t set = 0;
  std::vector<double> cross;
  for (int64_t y = 0; y < h; ++y) {
    const double yc = static_cast<double>(y) + 0.5;
    cross.clear();
    for (size_t i = 0; i < n; ++i) {
      const double x0 = xy[2 * i], y0 = xy[2 * i + 1];
      const double x1 = xy[2 * ((i + 1) % n)], y1 = xy[2 * ((i + 1) % n) + 1];
      if ((y0 <= yc) != (y1 <= yc)) cross.push_back(x0 + (yc - y0) / (y1 - y0) * (x1 - x0));
    }
    std::sort(cross.begin(), cross.end());
    for (size_t k = 0; k + 1 < cross.size(); k += 2) {
      // Pixel x is inside when its centre x + 0.5 lies in [cross[k], cross[k + 1]).
      const int64_t from = first_pixel_at_or_after(cross[k] - 0.5, w);
      const int64_t to = first_pixel_at_or_after(cross[k + 1] - 0.5, w);
      for (int64_t x = from; x < to; ++x) mask[y * w + x] = value;
      set += std::max<int64_t>(0, to - from);
    }
  }
  return set;
}

std::vector<int64_t> coco_category_ids(const std::string& annotations,
                                       std::vector<std::string>* names, int64_t max_bytes) {
  const nlohmann::json j = read_coco_file(annotations, max_bytes, "instances");
  RM_THROW_IF(!j.contains("categories") || !j["categories"].is_array() || j["categories"].empty(),
              annotations, ": needs a non-empty \"categories\" array");
  std::map<int64_t, std::string> cats;
  for (size_t i = 0; i < j["categories"].size(); ++i) {
    const std::string where = annotations + ": categories[" + std::to_string(i) + "]";
    const nlohmann::json& c = j["categories"][i];
    const int64_t id = coco_id(c, "id", where);
    RM_THROW_IF(!cats.emplace(id, coco_string(c, "name", where)).second, where, ": category id ",
                id, " is listed twice");
  }
  RM_THROW_IF(cats.size() > 254, annotations, ": ", cats.size(),
              " categories; at most 254 (classes are u8 with background)");
  std::vector<int64_t> ids;
  if (names != nullptr) *names = {"background"};
  for (const auto& [id, name] : cats) {
    ids.push_back(id);
    if (names != nullptr) names->push_back(name);
  }
  return ids;
}

Dataset load_coco_instances(const std::string& annotations, const std::string& images,
                            const std::vector<int64_t>& categories, const CocoInstanceOptions& o) {
  const nlohmann::json j = read_coco_file(annotations, o.max_bytes, "instances");
  std::vector<CocoImage> list = read_images(j, annotations, images, categories);
  RM_THROW_IF(list.empty(), annotations, ": no images");
  size_t most = 1;
  for (const CocoImage& im : list) {
    RM_THROW_IF(o.instances && im.objects.size() > kMaxObjects, im.path, ": ", im.objects.size(),
                " objects; detection takes at most ", kMaxObjects, " an image");
    most = std::max(most, im.objects.size());
  }
  const auto n = static_cast<int64_t>(list.size());
  const int64_t s = o.size, c = o.channels;
  Dataset ds;
  ds.num_classes = static_cast<int>(categories.size()) + 1;
  ds.images = ops::Tensor::empty({n, c, s, s}, ops::DType::u8);
  ds.masks = ops::Tensor::empty({n, s, s}, ops::DType::u8);
  ds.labels.assign(static_cast<size_t>(n), 0);
  if (o.instances) {
    ds.instance_classes = ops::Tensor::empty({n, static_cast<int64_t>(most)}, ops::DType::i64);
    std::fill_n(ds.instance_classes.data<int64_t>(), ds.instance_classes.numel(), int64_t{-1});
    ds.min_visible = o.min_visible;
  }
  for (int64_t i = 0; i < n; ++i) {
    CocoImage& im = list[static_cast<size_t>(i)];
    ImageHeader file;
    const std::vector<uint8_t> planes = read_image_planes(im.path, c, s, &file);
    std::copy(planes.begin(), planes.end(), ds.images.data<uint8_t>() + i * c * s * s);
    uint8_t* mask = ds.masks.data<uint8_t>() + i * s * s;
    int64_t* classes = o.instances
                           ? ds.instance_classes.data<int64_t>() + i * static_cast<int64_t>(most)
                           : nullptr;
    const std::vector<int64_t> full = draw_objects(im, file, s, o.instances, mask, classes);
    if (o.instances) unlabel_hidden_items(mask, s * s, full, o.min_visible, classes);
    if (!im.objects.empty()) ds.labels[static_cast<size_t>(i)] = im.objects.front().cls;
  }
  return ds;
}

}  // namespace ringmaster::models
