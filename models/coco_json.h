// What the COCO-style loaders (coco_captions.h, coco_instances.h) share:
// the JSON file read with bounds, and the fields of its entries read with
// errors that name the file, the array and the index.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace ringmaster::models {

// The file's JSON: at most max_bytes, bounded in depth (ops/bounded_json.h),
// an object with "images" and "annotations" arrays, else ops::Error naming
// the file and `kind` ("captions", "instances").
nlohmann::json read_coco_file(const std::string& path, int64_t max_bytes, const char* kind);

// Entry e's integer / string field; `where` names the entry in errors
// ("FILE: annotations[3]").
int64_t coco_id(const nlohmann::json& e, const char* key, const std::string& where);
std::string coco_string(const nlohmann::json& e, const char* key, const std::string& where);

// images/<name>, which must stay inside images/.
std::string coco_image_path(const std::string& images, const std::string& name,
                            const std::string& where);

}  // namespace ringmaster::models
