// CIFAR binary loader (see cifar.h): sizes every file first, so the images
// are one allocation, then reads each record's label and planes in place.
#include "models/cifar.h"

#include <filesystem>
#include <fstream>

#include "ops/check.h"

namespace ringmaster::models {
namespace {

constexpr int64_t kPixelBytes = 3 * kCifarSide * kCifarSide;

int64_t record_count(const std::string& file, int64_t record) {
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(file, ec);
  RM_THROW_IF(ec, file, ": cannot read (", ec.message(), ")");
  RM_THROW_IF(bytes == 0 || bytes % static_cast<uint64_t>(record) != 0, file, ": ", bytes,
              " bytes, not a whole number of ", record, "-byte CIFAR records (",
              record - kPixelBytes, " label byte(s), then 3,072 pixel bytes)");
  return static_cast<int64_t>(bytes / static_cast<uint64_t>(record));
}

// One name per line, when the file has exactly `count` non-empty lines.
std::vector<std::string> class_names(const std::filesystem::path& file, int count) {
  std::ifstream in(file);
  std::vector<std::string> names;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (static_cast<int>(names.size()) != count) names.clear();
  return names;
}

}  // namespace

Dataset load_cifar(const std::vector<std::string>& files, const CifarFormat& format) {
  RM_THROW_IF(files.empty(), "CIFAR: no files");
  const int64_t record = format.label_bytes + kPixelBytes;
  std::vector<int64_t> counts;  // sized once: a file that grows meanwhile is read no further
  int64_t n = 0;
  for (const std::string& f : files) n += counts.emplace_back(record_count(f, record));
  Dataset ds;
  ds.images = ops::Tensor::empty({n, 3, kCifarSide, kCifarSide}, ops::DType::u8);
  ds.labels.reserve(static_cast<size_t>(n));
  auto* pixels = reinterpret_cast<char*>(ds.images.data<uint8_t>());
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string& f = files[i];
    std::ifstream in(f, std::ios::binary);
    for (int64_t r = 0; r < counts[i]; ++r) {
      unsigned char label[2] = {0, 0};
      in.read(reinterpret_cast<char*>(label), format.label_bytes);
      in.read(pixels, kPixelBytes);
      RM_THROW_IF(!in, f, ": cannot read record ", r);
      const int value = label[format.label_index];
      RM_THROW_IF(value >= format.num_classes, f, ": record ", r, " has label ", value,
                  "; this format has classes 0..", format.num_classes - 1);
      ds.labels.push_back(value);
      pixels += kPixelBytes;
    }
  }
  ds.num_classes = format.num_classes;
  if (!format.names_file.empty())
    ds.class_names = class_names(
        std::filesystem::path(files.front()).parent_path() / format.names_file, format.num_classes);
  return ds;
}

}  // namespace ringmaster::models
