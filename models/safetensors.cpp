// safetensors reading and writing (see safetensors.h): the header built and
// parsed with nlohmann::json, the data through POSIX I/O (pread/write, fsync,
// rename) so that a crash never leaves a half-written checkpoint.
#include "models/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "ops/bounded_json.h"
#include "ops/check.h"

namespace ringmaster::models {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; a big-endian host needs byte swaps here");

namespace {

constexpr uint64_t kMaxHeader = 100'000'000;  // the reference implementation's limit

const char* st_dtype(ops::DType d) {
  switch (d) {
    case ops::DType::f32:
      return "F32";
    case ops::DType::f16:
      return "F16";
    case ops::DType::i64:
      return "I64";
    case ops::DType::i32:
      return "I32";
    case ops::DType::u8:
      return "U8";
  }
  return "?";
}

bool parse_dtype(const std::string& s, ops::DType& out) {
  static const std::pair<const char*, ops::DType> kTable[] = {{"F32", ops::DType::f32},
                                                              {"F16", ops::DType::f16},
                                                              {"I64", ops::DType::i64},
                                                              {"I32", ops::DType::i32},
                                                              {"U8", ops::DType::u8}};
  for (const auto& [name, d] : kTable) {
    if (s == name) {
      out = d;
      return true;
    }
  }
  return false;
}

std::string errno_text() { return std::strerror(errno); }

// Closes on destruction.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

void write_all(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    RM_THROW_IF(w <= 0, path, ": write failed: ", errno_text());
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void pread_all(int fd, void* data, size_t n, uint64_t offset, const std::string& path) {
  char* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::pread(fd, p, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    RM_THROW_IF(r < 0, path, ": read failed: ", errno_text());
    RM_THROW_IF(r == 0, path, ": truncated while reading at byte ", offset);
    p += r;
    n -= static_cast<size_t>(r);
    offset += static_cast<uint64_t>(r);
  }
}

std::string parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  save_safetensors(path, NamedTensors(tensors.begin(), tensors.end()), metadata);
}

void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // Plain cpu copies (no copy for tensors already so), in name order.
  NamedTensors sorted;
  sorted.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {
    RM_THROW_IF(name.empty() || name == "__metadata__", path, ": bad tensor name '", name, "'");
    RM_THROW_IF(!t.defined(), path, ": tensor '", name, "' is undefined");
    sorted.emplace_back(name, t.to(ops::Device::cpu()).to_plain());
  }
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < sorted.size(); ++i)
    RM_THROW_IF(sorted[i].first == sorted[i - 1].first, path, ": duplicate tensor name '",
                sorted[i].first, "'");

  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& [name, t] : sorted) {
    const uint64_t n = static_cast<uint64_t>(t.numel()) * ops::dtype_size(t.dtype());
    header[name] = {{"dtype", st_dtype(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_len = text.size();

  const std::string dir = parent_dir(path);
  std::string tmp = path + ".tmp.XXXXXX";
  std::vector<char> tmpl(tmp.begin(), tmp.end());
  tmpl.push_back('\0');
  Fd fd(::mkstemp(tmpl.data()));
  RM_THROW_IF(fd.fd < 0, path, ": cannot create a temporary file in ", dir, ": ", errno_text());
  tmp = tmpl.data();
  try {
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(header_len >> (8 * i));
    write_all(fd.fd, len, 8, tmp);
    write_all(fd.fd, text.data(), text.size(), tmp);
    for (const auto& [name, t] : sorted)
      write_all(fd.fd, t.raw(), static_cast<size_t>(t.numel()) * ops::dtype_size(t.dtype()), tmp);
    RM_THROW_IF(::fchmod(fd.fd, 0644) != 0, tmp, ": chmod failed: ", errno_text());
    RM_THROW_IF(::fsync(fd.fd) != 0, tmp, ": fsync failed: ", errno_text());
    RM_THROW_IF(::close(fd.fd) != 0, tmp, ": close failed: ", errno_text());
    fd.fd = -1;
    RM_THROW_IF(::rename(tmp.c_str(), path.c_str()) != 0, path, ": rename from ", tmp,
                " failed: ", errno_text());
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // Make the rename itself durable.
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY));
  if (dfd.fd >= 0) ::fsync(dfd.fd);
}

namespace {

// One tensor's entry in the header, checked against the data section's size.
struct TensorEntry {
  ops::DType dtype{};
  ops::Shape shape;
  uint64_t begin = 0, end = 0;  // data_offsets
};

// The header's JSON text: its length (the file's first 8 bytes, little-endian),
// checked against the file and kMaxHeader, then that many bytes.
std::string read_header_text(int fd, const std::string& path, uint64_t file_size) {
  RM_THROW_IF(file_size < 8, path, ": not a safetensors file: ", file_size,
              " bytes, fewer than the 8-byte header length");
  unsigned char len[8];
  pread_all(fd, len, 8, 0, path);
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= uint64_t{len[i]} << (8 * i);
  // The messages never echo what was read: the file may be anything a spec
  // named (its first bytes as a number would hand them back).
  RM_THROW_IF(header_len > file_size - 8, path, ": not a safetensors file: the header length in ",
              "its first 8 bytes runs past the end of the file (", file_size, " bytes)");
  RM_THROW_IF(header_len > kMaxHeader, path, ": the header length in its first 8 bytes exceeds ",
              kMaxHeader, " bytes");
  std::string text(header_len, '\0');
  pread_all(fd, text.data(), header_len, 8, path);
  return text;
}

// A tensor's entry: dtype, shape and data_offsets, nothing else, the offsets
// inside the data section and spanning exactly the shape's bytes. `where`
// names the file and the tensor.
TensorEntry parse_entry(const nlohmann::json& entry, const std::string& where, uint64_t data_size) {
  RM_THROW_IF(!entry.is_object(), where, ": entry is not an object");
  RM_THROW_IF(!entry.contains("dtype") || !entry["dtype"].is_string(), where,
              ": missing or non-string dtype");
  TensorEntry out;
  const std::string ds = entry["dtype"].get<std::string>();
  RM_THROW_IF(!parse_dtype(ds, out.dtype), where, ": unsupported dtype '", ds,
              "' (F32, F16, I64, I32, U8)");
  RM_THROW_IF(!entry.contains("shape") || !entry["shape"].is_array(), where,
              ": missing or non-array shape");
  uint64_t numel = 1;
  bool overflow = false;
  for (const auto& d : entry["shape"]) {
    RM_THROW_IF(!d.is_number_unsigned(), where, ": shape ", entry["shape"].dump(),
                " holds something other than non-negative integers");
    const uint64_t v = d.get<uint64_t>();
    overflow = overflow || (v != 0 && numel > (uint64_t{1} << 62) / v);
    numel *= v;
    out.shape.push_back(static_cast<int64_t>(v));
  }
  RM_THROW_IF(!entry.contains("data_offsets") || !entry["data_offsets"].is_array() ||
                  entry["data_offsets"].size() != 2 ||
                  !entry["data_offsets"][0].is_number_unsigned() ||
                  !entry["data_offsets"][1].is_number_unsigned(),
              where, ": data_offsets must be two non-negative integers");
  out.begin = entry["data_offsets"][0].get<uint64_t>();
  out.end = entry["data_offsets"][1].get<uint64_t>();
  RM_THROW_IF(out.begin > out.end, where, ": data_offsets [", out.begin, ", ", out.end,
              "] end before begin");
  RM_THROW_IF(out.end > data_size, where, ": data_offsets [", out.begin, ", ", out.end,
              "] out of bounds: the data section has ", data_size, " bytes");
  const uint64_t bytes = numel * ops::dtype_size(out.dtype);
  RM_THROW_IF(overflow || bytes != out.end - out.begin, where, ": shape ",
              ops::shape_str(out.shape), " of ", ds, " needs ",
              overflow ? std::string("too many") : std::to_string(bytes),
              " bytes, data_offsets span ", out.end - out.begin);
  for (const auto& [k, v] : entry.items())
    RM_THROW_IF(k != "dtype" && k != "shape" && k != "data_offsets", where, ": unknown field '", k,
                "'");
  return out;
}

struct Span {
  uint64_t begin, end;
  std::string name;
};

// The tensors' data must tile the data section: sorted, no overlap, no gap,
// nothing after the last.
void check_tiling(std::vector<Span>& spans, const std::string& path, uint64_t data_size) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t covered = 0;
  const Span* prev = nullptr;
  for (const Span& s : spans) {
    RM_THROW_IF(s.begin < covered, path, ": tensors '", prev->name, "' [", prev->begin, ", ",
                prev->end, ") and '", s.name, "' [", s.begin, ", ", s.end, ") overlap");
    RM_THROW_IF(s.begin > covered, path, ": gap of ", s.begin - covered,
                " bytes in the data before tensor '", s.name, "'");
    covered = s.end;
    prev = &s;
  }
  RM_THROW_IF(covered != data_size, path, ": ", data_size - covered,
              " bytes after the last tensor's data (the file is longer than its header says)");
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  RM_THROW_IF(fd.fd < 0, path, ": cannot open: ", errno_text());
  struct stat st {};
  RM_THROW_IF(::fstat(fd.fd, &st) != 0, path, ": cannot stat: ", errno_text());
  const auto file_size = static_cast<uint64_t>(st.st_size);
  const std::string text = read_header_text(fd.fd, path, file_size);

  // Bounded (depth, duplicate names, trailing bytes); errors give positions
  // and key names, never other bytes of the file.
  const nlohmann::json header =
      ops::parse_bounded_json_or_throw(text, path + ": not a safetensors file: the header");
  RM_THROW_IF(!header.is_object(), path, ": header is not a JSON object");

  const uint64_t data_start = 8 + text.size();
  const uint64_t data_size = file_size - data_start;
  SafetensorsFile out;
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      RM_THROW_IF(!entry.is_object(), path, ": __metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        RM_THROW_IF(!v.is_string(), path, ": __metadata__ value for '", k, "' is not a string");
        out.metadata[k] = v.get<std::string>();
      }
      continue;
    }
    const TensorEntry e = parse_entry(entry, path + ": tensor '" + name + "'", data_size);
    spans.push_back({e.begin, e.end, name});
    out.tensors.emplace(name, ops::Tensor::empty(e.shape, e.dtype));
  }
  check_tiling(spans, path, data_size);
  for (const Span& s : spans) {
    ops::Tensor& t = out.tensors.at(s.name);
    if (s.end > s.begin) pread_all(fd.fd, t.raw(), s.end - s.begin, data_start + s.begin, path);
  }
  return out;
}

}  // namespace ringmaster::models
