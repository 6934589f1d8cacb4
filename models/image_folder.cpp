// Image-folder loader (see image_folder.h): list the class folders and their
// images, read every image's header to settle channels and size, then decode
// each into its slot of one (N, C, S, S) u8 tensor.
#include "models/image_folder.h"

#include <stb/stb_image_resize.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

#include "models/image_file.h"
#include "ops/check.h"

namespace ringmaster::models {
namespace {

namespace fs = std::filesystem;

const std::set<std::string>& image_extensions() {
  static const std::set<std::string> ext = {".png", ".jpg", ".jpeg", ".bmp",
                                            ".pgm", ".ppm", ".pnm"};
  return ext;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool hidden(const fs::path& p) { return p.filename().string().rfind('.', 0) == 0; }

// The entries of `dir` that pass `keep`, sorted by name.
template <typename Keep>
std::vector<fs::path> sorted_entries(const fs::path& dir, Keep keep) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  RM_THROW_IF(ec, dir.string(), ": cannot list the folder: ", ec.message());
  std::vector<fs::path> out;
  for (const fs::directory_entry& e : it)
    if (!hidden(e.path()) && keep(e)) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

struct ImageFile {
  std::string path;
  int64_t label = 0;
  int64_t w = 0, h = 0, channels = 0;  // as stored
};

// The file's header: its size and stored channels.
ImageFile probe(const std::string& path, int64_t label) {
  const ImageHeader h = read_image_header(path);
  return {path, label, h.width, h.height, h.channels};
}

// Every image of the class folders present under root, with its header read.
std::vector<ImageFile> list_images(const fs::path& root, const std::vector<std::string>& classes) {
  std::vector<ImageFile> files;
  for (const std::string& name : image_folder_classes(root.string())) {
    const auto c = std::find(classes.begin(), classes.end(), name);
    RM_THROW_IF(c == classes.end(), (root / name).string(),
                ": a class the training folder does not have");
    const std::vector<fs::path> images = sorted_entries(root / name, [](const auto& e) {
      std::error_code ec;
      return e.is_regular_file(ec) && image_extensions().count(lower(e.path().extension())) > 0;
    });
    RM_THROW_IF(images.empty(), (root / name).string(),
                ": no images in this class folder (.png, .jpg, .jpeg, .bmp, .pgm, .ppm, .pnm)");
    for (const fs::path& p : images) files.push_back(probe(p.string(), c - classes.begin()));
  }
  return files;
}

// The side every image gets: options.size, or the images' own one square size.
int64_t common_side(const std::vector<ImageFile>& files, int64_t size) {
  if (size > 0) return size;
  const ImageFile& first = files.front();
  for (const ImageFile& f : files)
    RM_THROW_IF(f.w != f.h || f.w != first.w, f.path, " is ", f.w, "x", f.h, " pixels and ",
                first.path, " ", first.w, "x", first.h,
                ": the models take images of one square size; set data.size to resize every "
                "image to size x size");
  return first.w;
}

int64_t common_channels(const std::vector<ImageFile>& files, int64_t channels) {
  if (channels > 0) return channels;
  for (const ImageFile& f : files)
    if (f.channels >= 3) return 3;
  return 1;
}

// Decodes the file to (c, s, s) planar bytes at out; returns its header.
ImageHeader decode_into(const std::string& path, int64_t c, int64_t s, uint8_t* out) {
  ImageHeader got;
  const std::vector<uint8_t> px = decode_image(path, c, got);
  const int64_t w = got.width, h = got.height;
  const uint8_t* src = px.data();
  std::vector<uint8_t> resized;
  if (w != s || h != s) {
    resized.resize(static_cast<size_t>(s * s * c));
    RM_THROW_IF(
        stbir_resize_uint8(src, static_cast<int>(w), static_cast<int>(h), 0, resized.data(),
                           static_cast<int>(s), static_cast<int>(s), 0, static_cast<int>(c)) == 0,
        path, ": cannot resize to ", s, "x", s);
    src = resized.data();
  }
  for (int64_t k = 0; k < c; ++k)
    for (int64_t i = 0; i < s * s; ++i) out[k * s * s + i] = src[i * c + k];
  return got;
}

}  // namespace

std::vector<uint8_t> read_image_planes(const std::string& path, int64_t channels, int64_t size,
                                       ImageHeader* file) {
  RM_THROW_IF((channels != 1 && channels != 3) || size < 1 || size > kMaxImageSide,
              "read_image_planes: channels 1 or 3 and a size in 1..", kMaxImageSide, ", got ",
              channels, " and ", size);
  std::vector<uint8_t> out(static_cast<size_t>(channels * size * size));
  const ImageHeader got = decode_into(path, channels, size, out.data());
  if (file != nullptr) *file = got;
  return out;
}

std::vector<std::string> image_folder_classes(const std::string& root) {
  std::error_code ec;
  RM_THROW_IF(!fs::is_directory(root, ec), root, ": not a folder");
  std::vector<std::string> names;
  for (const fs::path& p : sorted_entries(root, [](const auto& e) {
         std::error_code dir_ec;
         return e.is_directory(dir_ec);
       }))
    names.push_back(p.filename().string());
  RM_THROW_IF(names.empty(), root,
              ": no class folders (an image folder holds one sub-folder of images per class)");
  return names;
}

Dataset load_image_folder(const std::string& root, const ImageFolderOptions& options,
                          const std::vector<std::string>& classes) {
  RM_THROW_IF(options.channels != 0 && options.channels != 1 && options.channels != 3,
              "image folder: channels must be 1 or 3, got ", options.channels);
  const std::vector<std::string> names = classes.empty() ? image_folder_classes(root) : classes;
  const std::vector<ImageFile> files = list_images(root, names);
  const int64_t c = common_channels(files, options.channels);
  const int64_t s = common_side(files, options.size);
  Dataset ds;
  const auto n = static_cast<int64_t>(files.size());
  ds.images = ops::Tensor::empty({n, c, s, s}, ops::DType::u8);
  for (int64_t i = 0; i < n; ++i) {
    const ImageFile& f = files[static_cast<size_t>(i)];
    const ImageHeader got = decode_into(f.path, c, s, ds.images.data<uint8_t>() + i * c * s * s);
    RM_THROW_IF(got.width != f.w || got.height != f.h, f.path, ": changed while it was read");
    ds.labels.push_back(f.label);
  }
  ds.num_classes = static_cast<int>(names.size());
  ds.class_names = names;
  return ds;
}

}  // namespace ringmaster::models
