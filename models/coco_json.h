// What the COCO-style loaders (coco_captions.h, coco_instances.h) share:
// the JSON file read with bounds, and the fields of its entries read with
// errors that name the file, the array and the index.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ringmaster::models {

// The file's JSON: at most max_bytes, bounded in depth (ops/bounded_json.h),
// an object with "images" and "annotations" arrays, else ops::Error naming
// the file and `kind` ("captions", "instances").
nlohmann::json read_coco_file(const std::string& path, int64_t max_bytes, const char* kind);

// Entry e's integer / string field; `where` names the entry in errors
// ("FILE: annotations[3]").
int64_t coco_id(const nlohmann::json& e, const char* key, const std::string& where);
std::string coco_string(const nlohmann::json& e, const char* key, const std::string& where);

// The file's "images": each entry's path in images/ (its file_name, which
// must stay inside images/), in order, and where each id sits. An id listed
// twice is refused naming the entry.
struct CocoImageList {
  std::vector<std::string> paths;
  std::map<int64_t, size_t> index;  // image id -> position in paths
  // The position of annotation a's image_id; `where` names a in errors.
  size_t of(const nlohmann::json& a, const std::string& where) const;
};
CocoImageList read_coco_images(const nlohmann::json& j, const std::string& file,
                               const std::string& images);

}  // namespace ringmaster::models
