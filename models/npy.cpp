// .npy reader (see npy.h): header parsing by hand (the dict literal numpy
// writes, keys in any order), then the data, size-checked.
#include "models/npy.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

namespace ringmaster::models {

namespace {

// The value text after 'key': in the header dict, up to the next top-level
// comma or the closing brace; empty when the key is absent.
std::string dict_value(const std::string& header, const std::string& key) {
  const size_t k = header.find("'" + key + "'");
  if (k == std::string::npos) return "";
  size_t i = header.find(':', k);
  if (i == std::string::npos) return "";
  ++i;
  int depth = 0;
  size_t j = i;
  for (; j < header.size(); ++j) {
    const char c = header[j];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (depth == 0 && (c == ',' || c == '}')) break;
    if (depth < 0) break;
  }
  std::string v = header.substr(i, j - i);
  const size_t b = v.find_first_not_of(" \t");
  const size_t e = v.find_last_not_of(" \t");
  return b == std::string::npos ? "" : v.substr(b, e - b + 1);
}

}  // namespace

NpyArray load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  RM_THROW_IF(!in, path, ": cannot open");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  RM_THROW_IF(bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0, path,
              ": not a .npy file (no \\x93NUMPY magic)");
  const auto u8 = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const unsigned major = u8(6);
  RM_THROW_IF(major < 1 || major > 3, path, ": .npy format version ", major, ".", u8(7),
              " is not supported (1.0, 2.0, 3.0)");
  size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = u8(8) | (u8(9) << 8);
    start = 10;
  } else {
    RM_THROW_IF(bytes.size() < 12, path, ": truncated .npy header");
    header_len = u8(8) | (u8(9) << 8) | (u8(10) << 16) | (static_cast<size_t>(u8(11)) << 24);
    start = 12;
  }
  RM_THROW_IF(start + header_len > bytes.size(), path, ": header of ", header_len,
              " bytes runs past the end of the file (", bytes.size(), " bytes)");
  const std::string header = bytes.substr(start, header_len);
  const std::string descr = dict_value(header, "descr");
  const std::string fortran = dict_value(header, "fortran_order");
  const std::string shape_text = dict_value(header, "shape");
  RM_THROW_IF(descr.empty() || fortran.empty() || shape_text.empty(), path,
              ": header lacks 'descr', 'fortran_order' or 'shape': ", header);
  size_t item = 0;
  if (descr == "'<f8'") item = 8;
  if (descr == "'<f4'") item = 4;
  RM_THROW_IF(item == 0, path, ": dtype ", descr,
              " is not supported (little-endian float64 '<f8' or float32 '<f4')");
  RM_THROW_IF(fortran != "False", path, ": Fortran-order arrays are not supported");
  RM_THROW_IF(shape_text.front() != '(' || shape_text.back() != ')', path, ": bad shape ",
              shape_text);
  NpyArray out;
  const std::string dims = shape_text.substr(1, shape_text.size() - 2);
  size_t pos = 0;
  while (pos < dims.size()) {
    const size_t comma = dims.find(',', pos);
    const std::string d =
        dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? dims.size() : comma + 1;
    if (d.find_first_not_of(" ") == std::string::npos) continue;  // "(5,)"
    char* end = nullptr;
    const long long v = std::strtoll(d.c_str(), &end, 10);
    RM_THROW_IF(
        v < 0 || end == d.c_str() || std::string(end).find_first_not_of(" ") != std::string::npos,
        path, ": bad shape ", shape_text);
    out.shape.push_back(v);
  }
  const size_t data_start = start + header_len;
  const size_t n = static_cast<size_t>(ops::shape_numel(out.shape));
  RM_THROW_IF(bytes.size() - data_start != n * item, path, ": shape ", shape_text, " of ", descr,
              " needs ", n * item, " bytes of data, the file has ", bytes.size() - data_start);
  out.values.resize(n);
  const char* p = bytes.data() + data_start;
  if (item == 8) {
    if (n > 0) std::memcpy(out.values.data(), p, n * 8);  // no null pointer, even for nothing
  } else {
    for (size_t i = 0; i < n; ++i) {
      float f;
      std::memcpy(&f, p + 4 * i, 4);
      out.values[i] = f;
    }
  }
  return out;
}

}  // namespace ringmaster::models
