// Fields several data sets read alike (see data_sets.h): a required
// data.path, an image channel count, and a COCO-style split's two paths.
#include <filesystem>

#include "training/data_sets.h"

namespace ringmaster::training {
namespace {

// A relative path that stays inside data.path, else a problem at key.
void read_inner_path(models::SpecReader& r, const char* key, std::string& out) {
  r.string(key, out);
  const std::filesystem::path p = std::filesystem::path(out).lexically_normal();
  if (out.empty() || p.is_absolute() || p.begin()->string() == "..")
    r.problem(key, "must be a path inside data.path");
}

}  // namespace

void require_data_path(models::SpecReader& r, const std::string& path, const std::string& dataset,
                       const std::string& what) {
  if (path.empty()) r.problem("path", "is required for data set \"" + dataset + "\": " + what);
}

void read_image_channels(models::SpecReader& r, int64_t& channels) {
  r.integer("channels", channels, 1, 3);
  if (channels == 2) r.problem("channels", "must be 1 (grey) or 3 (RGB), got 2");
}

std::string CocoSplit::annotations_in(const std::string& root) const {
  return (std::filesystem::path(root) / annotations).string();
}

std::string CocoSplit::images_in(const std::string& root) const {
  return (std::filesystem::path(root) / images).string();
}

void read_coco_split(models::SpecReader& r, const char* key, CocoSplit& s) {
  if (const nlohmann::json* j = r.object(key)) {
    models::SpecReader sr(*j, r.child(key), r.problems());
    read_inner_path(sr, "annotations", s.annotations);
    read_inner_path(sr, "images", s.images);
  }
}

}  // namespace ringmaster::training
