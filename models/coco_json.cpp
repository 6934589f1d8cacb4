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

std::string coco_image_path(const std::string& images, const std::string& name,
                            const std::string& where) {
  const std::filesystem::path rel = std::filesystem::path(name).lexically_normal();
  RM_THROW_IF(name.empty() || rel.is_absolute() || rel.begin()->string() == "..", where,
              ": file_name \"", name.size() > 200 ? name.substr(0, 200) + "..." : name,
              "\" must be a path inside the images folder");
  return (std::filesystem::path(images) / rel).string();
}

}  // namespace ringmaster::models
