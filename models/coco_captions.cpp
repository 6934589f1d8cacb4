// COCO-style captions loader (see coco_captions.h): the JSON read with bounds,
// its images indexed by id, the captions gathered per image, then each
// captioned image decoded into one (N, C, S, S) tensor.
#include "models/coco_captions.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>

#include "models/image_folder.h"
#include "ops/bounded_json.h"
#include "ops/check.h"

namespace ringmaster::models {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path, int64_t max_bytes) {
  std::error_code ec;
  const auto bytes = fs::file_size(path, ec);
  RM_THROW_IF(ec, path, ": cannot read (", ec.message(), ")");
  RM_THROW_IF(bytes > static_cast<uint64_t>(max_bytes), path, ": ", bytes, " bytes, more than the ",
              max_bytes, " a captions file may have");
  std::ifstream in(path, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  nlohmann::json j = ops::parse_bounded_json_or_throw(text, path);
  RM_THROW_IF(!j.is_object() || !j.contains("images") || !j["images"].is_array() ||
                  !j.contains("annotations") || !j["annotations"].is_array(),
              path,
              ": not a COCO captions file (an object with \"images\" and \"annotations\" arrays)");
  return j;
}

// The entry's integer field, or an error naming the file, array and index.
int64_t id_field(const nlohmann::json& e, const char* key, const std::string& where) {
  RM_THROW_IF(!e.is_object() || !e.contains(key) || !e[key].is_number_integer(), where,
              ": needs an integer \"", key, "\"");
  return e[key].get<int64_t>();
}

std::string string_field(const nlohmann::json& e, const char* key, const std::string& where) {
  RM_THROW_IF(!e.contains(key) || !e[key].is_string(), where, ": needs a string \"", key, "\"");
  return e[key].get<std::string>();
}

// images/<file_name>, which must stay inside images/.
std::string image_path(const std::string& images, const std::string& name,
                       const std::string& where) {
  const fs::path rel = fs::path(name).lexically_normal();
  RM_THROW_IF(name.empty() || rel.is_absolute() || rel.begin()->string() == "..", where,
              ": file_name \"", name.size() > 200 ? name.substr(0, 200) + "..." : name,
              "\" must be a path inside the images folder");
  return (fs::path(images) / rel).string();
}

}  // namespace

std::string caption_words(const std::string& caption, int64_t max_words) {
  std::string out, word;
  int64_t words = 0;
  auto flush = [&] {
    if (!word.empty() && words < max_words) {
      out += (out.empty() ? "" : " ") + word;
      ++words;
    }
    word.clear();
  };
  for (const char ch : caption) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c))
      word.push_back(static_cast<char>(std::tolower(c)));
    else
      flush();
  }
  flush();
  return out;
}

CaptionedImages load_coco_captions(const std::string& annotations, const std::string& images,
                                   const CocoCaptionOptions& o) {
  const nlohmann::json j = read_json(annotations, o.max_bytes);
  std::map<int64_t, size_t> index;  // image id -> position in "images"
  std::vector<std::string> paths;
  for (size_t i = 0; i < j["images"].size(); ++i) {
    const std::string where = annotations + ": images[" + std::to_string(i) + "]";
    const int64_t id = id_field(j["images"][i], "id", where);
    RM_THROW_IF(!index.emplace(id, i).second, where, ": image id ", id, " is listed twice");
    paths.push_back(image_path(images, string_field(j["images"][i], "file_name", where), where));
  }
  std::vector<std::vector<std::string>> captions(paths.size());
  for (size_t i = 0; i < j["annotations"].size(); ++i) {
    const std::string where = annotations + ": annotations[" + std::to_string(i) + "]";
    const auto it = index.find(id_field(j["annotations"][i], "image_id", where));
    RM_THROW_IF(it == index.end(), where, ": image_id ", j["annotations"][i]["image_id"].dump(),
                " is not among the images");
    const std::string words =
        caption_words(string_field(j["annotations"][i], "caption", where), o.max_words);
    if (!words.empty()) captions[it->second].push_back(words);
  }
  CaptionedImages out;
  std::vector<size_t> kept;
  for (size_t i = 0; i < paths.size(); ++i)
    if (!captions[i].empty()) kept.push_back(i);
  RM_THROW_IF(kept.empty(), annotations, ": no image has a caption");
  const auto n = static_cast<int64_t>(kept.size());
  const int64_t per = o.channels * o.size * o.size;
  out.images.images = ops::Tensor::empty({n, o.channels, o.size, o.size}, ops::DType::u8);
  for (int64_t k = 0; k < n; ++k) {
    const size_t i = kept[static_cast<size_t>(k)];
    const std::vector<uint8_t> planes = read_image_planes(paths[i], o.channels, o.size);
    std::copy(planes.begin(), planes.end(), out.images.images.data<uint8_t>() + k * per);
    std::vector<std::string> refs;
    for (int64_t r = 0; r < o.references; ++r)
      refs.push_back(captions[i][static_cast<size_t>(r) % captions[i].size()]);
    out.captions.push_back(std::move(refs));
  }
  out.images.labels.assign(static_cast<size_t>(n), 0);
  out.images.num_classes = 1;
  return out;
}

}  // namespace ringmaster::models
