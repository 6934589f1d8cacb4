// coco_json (see coco_json.h).
#include "models/coco_json.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "ops/bounded_json.h"
#include "ops/check.h"

namespace ringmaster::models {

nlohmann::json read_coco_file(const std::string& path, int64_t max_bytes, const char* kind) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  RM_THROW_IF(ec, path, ": cannot read (", ec.message(), ")");
  RM_THROW_IF(bytes > static_cast<uint64_t>(max_bytes), path, ": ", bytes, " bytes, more than the ",
              max_bytes, " a COCO ", kind, " file may have");
  std::ifstream in(path, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  nlohmann::json j = ops::parse_bounded_json_or_throw(text, path);
  RM_THROW_IF(!j.is_object() || !j.contains("images") || !j["images"].is_array() ||
                  !j.contains("annotations") || !j["annotations"].is_array(),
              path, ": not a COCO ", kind,
              " file (an object with \"images\" and \"annotations\" arrays)");
  return j;
}

int64_t coco_id(const nlohmann::json& e, const char* key, const std::string& where) {
  RM_THROW_IF(!e.is_object() || !e.contains(key) || !e[key].is_number_integer(), where,
              ": needs an integer \"", key, "\"");
  return e[key].get<int64_t>();
}

std::string coco_string(const nlohmann::json& e, const char* key, const std::string& where) {
  RM_THROW_IF(!e.is_object() || !e.contains(key) || !e[key].is_string(), where,
              ": needs a string \"", key, "\"");
  return e[key].get<std::string>();
}

namespace {

// images/<name>, which must stay inside images/.
std::string image_path(const std::string& images, const std::string& name,
                       const std::string& where) {
  const std::filesystem::path rel = std::filesystem::path(name).lexically_normal();
  RM_THROW_IF(name.empty() || rel.is_absolute() || rel.begin()->string() == "..", where,
              ": file_name \"", name.size() > 200 ? name.substr(0, 200) + "..." : name,
              "\" must be a path inside the images folder");
  return (std::filesystem::path(images) / rel).string();
}

}  // namespace

CocoImageList read_coco_images(const nlohmann::json& j, const std::string& file,
                               const std::string& images) {
  CocoImageList out;
  for (size_t i = 0; i < j["images"].size(); ++i) {
    const nlohmann::json& e = j["images"][i];
    const std::string where = file + ": images[" + std::to_string(i) + "]";
    const int64_t id = coco_id(e, "id", where);
    RM_THROW_IF(!out.index.emplace(id, i).second, where, ": image id ", id, " is listed twice");
    out.paths.push_back(image_path(images, coco_string(e, "file_name", where), where));
  }
  return out;
}

size_t CocoImageList::of(const nlohmann::json& a, const std::string& where) const {
  const auto it = index.find(coco_id(a, "image_id", where));
  RM_THROW_IF(it == index.end(), where, ": image_id ", a["image_id"].dump(),
              " is not among the images");
  return it->second;
}

}  // namespace ringmaster::models
