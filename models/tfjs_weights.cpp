// tfjs weights manifest reader and name/layout translation (see tfjs_weights.h).
#include "models/tfjs_weights.h"

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include <nlohmann/json.hpp>

#include "ops/bounded_json.h"

namespace ringmaster::models {

namespace {

// obj[key] when it is a string, else "" (json::value would throw a type_error
// for a number: what fuzz_tfjs found).
std::string string_or_empty(const nlohmann::json& obj, const char* key) {
  const auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  RM_THROW_IF(!in, what, ": cannot open ", path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// One manifest entry: where its bytes are and how to decode them.
struct Entry {
  std::string name;
  ops::Shape shape;
  size_t bytes_per_value = 4;  // 4: raw float32; 1: uint8, 2: uint16 quantised
  double scale = 1.0, min = 0.0;
};

Entry read_entry(const nlohmann::json& w, const std::string& manifest, size_t index) {
  const std::string where = manifest + ": weights[" + std::to_string(index) + "]";
  RM_THROW_IF(!w.is_object(), where, " is not an object");
  RM_THROW_IF(!w.contains("name") || !w["name"].is_string(), where, " has no string \"name\"");
  Entry e;
  e.name = w["name"].get<std::string>();
  const std::string tensor = manifest + ": tensor '" + e.name + "'";
  RM_THROW_IF(!w.contains("shape") || !w["shape"].is_array(), tensor, " has no \"shape\" array");
  for (const auto& d : w["shape"]) {
    RM_THROW_IF(!d.is_number_integer() || d.get<int64_t>() < 0, tensor,
                ": shape entries must be non-negative integers, got ", w["shape"].dump());
    e.shape.push_back(d.get<int64_t>());
  }
  const std::string dtype = string_or_empty(w, "dtype");
  RM_THROW_IF(dtype != "float32", tensor, ": dtype \"", dtype,
              "\" is not supported (float32 only)");
  if (w.contains("quantization")) {
    const auto& q = w["quantization"];
    RM_THROW_IF(!q.is_object(), tensor, ": \"quantization\" is not an object");
    const std::string qd = string_or_empty(q, "dtype");
    RM_THROW_IF(qd != "uint8" && qd != "uint16", tensor, ": quantization dtype \"", qd,
                "\" is not supported (uint8, uint16)");
    RM_THROW_IF(!q.contains("scale") || !q["scale"].is_number() || !q.contains("min") ||
                    !q["min"].is_number(),
                tensor, ": quantization needs numbers \"scale\" and \"min\"");
    e.bytes_per_value = qd == "uint8" ? 1 : 2;
    e.scale = q["scale"].get<double>();
    e.min = q["min"].get<double>();
  }
  return e;
}

// Decodes n values of e from bytes (little-endian) into f32.
void decode(const Entry& e, const unsigned char* bytes, int64_t n, float* out) {
  if (e.bytes_per_value == 4) {
    std::memcpy(out, bytes, static_cast<size_t>(n) * 4);
  } else if (e.bytes_per_value == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(bytes[i] * e.scale + e.min);
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const unsigned q = bytes[2 * i] | (static_cast<unsigned>(bytes[2 * i + 1]) << 8);
      out[i] = static_cast<float>(q * e.scale + e.min);
    }
  }
}

// (a0, a1, a2, a3) -> the axes in `order`, e.g. {3, 2, 0, 1}: HWIO -> OIHW.
ops::Tensor permute4(const ops::Tensor& t, const std::array<int, 4>& order) {
  const ops::Shape& s = t.shape();
  ops::Shape out_shape;
  for (int a : order) out_shape.push_back(s[static_cast<size_t>(a)]);
  ops::Tensor out = ops::Tensor::empty(out_shape);
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  const std::array<int64_t, 4> stride{s[1] * s[2] * s[3], s[2] * s[3], s[3], 1};
  int64_t k = 0;
  for (int64_t i0 = 0; i0 < out_shape[0]; ++i0)
    for (int64_t i1 = 0; i1 < out_shape[1]; ++i1)
      for (int64_t i2 = 0; i2 < out_shape[2]; ++i2)
        for (int64_t i3 = 0; i3 < out_shape[3]; ++i3)
          dst[k++] = src[i0 * stride[static_cast<size_t>(order[0])] +
                         i1 * stride[static_cast<size_t>(order[1])] +
                         i2 * stride[static_cast<size_t>(order[2])] +
                         i3 * stride[static_cast<size_t>(order[3])]];
  return out;
}

ops::Tensor transpose2(const ops::Tensor& t) {
  const int64_t r = t.dim(0), c = t.dim(1);
  ops::Tensor out = ops::Tensor::empty({c, r});
  const float* src = t.data<float>();
  float* dst = out.data<float>();
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) dst[j * r + i] = src[i * c + j];
  return out;
}

// A shard named by a manifest must lie in the manifest's folder (after
// symlinks): a manifest cannot make a worker read ../../etc/shadow.
std::string shard_path(const std::filesystem::path& dir, const std::string& name,
                       const std::string& where) {
  namespace fs = std::filesystem;
  const fs::path rel(name);
  bool climbs = false;
  for (const auto& part : rel) climbs = climbs || part == "..";
  RM_THROW_IF(name.empty() || rel.is_absolute() || climbs, where, ": shard path \"", name,
              "\" must name a file in the manifest's folder");
  std::error_code ec;
  const fs::path base = fs::weakly_canonical(dir.empty() ? fs::path(".") : dir, ec);
  const fs::path full = fs::weakly_canonical(base / rel, ec);
  const fs::path inside = full.lexically_relative(base);
  RM_THROW_IF(ec || inside.empty() || *inside.begin() == "..", where, ": shard path \"", name,
              "\" leads out of the manifest's folder (through a symbolic link)");
  return full.string();
}

}  // namespace

std::vector<TfjsTensor> load_tfjs_weights(const std::string& manifest_path) {
  const nlohmann::json manifest =
      ops::parse_bounded_json_or_throw(read_file(manifest_path, "tfjs manifest"), manifest_path);
  RM_THROW_IF(!manifest.is_array() || manifest.empty(), manifest_path,
              ": a weights manifest is a non-empty JSON array of groups");
  const std::filesystem::path dir = std::filesystem::path(manifest_path).parent_path();
  std::vector<TfjsTensor> out;
  std::set<std::string> seen;
  size_t index = 0;
  for (size_t g = 0; g < manifest.size(); ++g) {
    const auto& group = manifest[g];
    const std::string gname = manifest_path + ": group " + std::to_string(g);
    RM_THROW_IF(!group.is_object() || !group.contains("paths") || !group["paths"].is_array() ||
                    !group.contains("weights") || !group["weights"].is_array(),
                gname, " needs \"paths\" and \"weights\" arrays");
    std::string bytes;  // the group's shards, concatenated
    std::string bins;
    for (const auto& p : group["paths"]) {
      RM_THROW_IF(!p.is_string(), gname, ": \"paths\" entries must be strings");
      const std::string path = shard_path(dir, p.get<std::string>(), gname);
      bytes += read_file(path, gname);
      bins += (bins.empty() ? "" : ", ") + path;
    }
    size_t offset = 0;
    for (const auto& w : group["weights"]) {
      const Entry e = read_entry(w, manifest_path, index++);
      RM_THROW_IF(!seen.insert(e.name).second, manifest_path, ": tensor '", e.name,
                  "' appears twice");
      const int64_t n = ops::shape_numel(e.shape);
      const size_t need = static_cast<size_t>(n) * e.bytes_per_value;
      RM_THROW_IF(offset + need > bytes.size(), manifest_path, ": tensor '", e.name, "' ",
                  ops::shape_str(e.shape), " needs bytes [", offset, ", ", offset + need, ") but ",
                  bins.empty() ? "the group has no .bin" : bins, " hold(s) only ", bytes.size(),
                  " bytes (truncated?)");
      ops::Tensor t = ops::Tensor::empty(e.shape);
      decode(e, reinterpret_cast<const unsigned char*>(bytes.data()) + offset, n, t.data<float>());
      offset += need;
      out.push_back({e.name, t});
    }
    RM_THROW_IF(offset != bytes.size(), manifest_path, ": ", bins, " hold(s) ", bytes.size(),
                " bytes but the manifest's tensors take ", offset,
                " (a different .bin, or a manifest missing tensors)");
  }
  return out;
}

TensorMap tfjs_to_state_dict(const std::vector<TfjsTensor>& tensors) {
  TensorMap out;
  for (const TfjsTensor& t : tensors) {
    std::string name = t.name;
    for (char& c : name)
      if (c == '/') c = '.';
    const size_t dot = name.rfind('.');
    std::string leaf = dot == std::string::npos ? name : name.substr(dot + 1);
    const std::string scope = dot == std::string::npos ? name : name.substr(0, dot);
    bool weight = false;
    if (dot == std::string::npos) {
      weight = true;  // "fc": the module's weight
    } else if (leaf == "filters" || leaf == "kernel" || leaf == "weights") {
      weight = true;
    } else if (leaf == "biases" || leaf == "bias") {
      name = scope + ".bias";
    }
    ops::Tensor value = t.value;
    if (weight) {
      name = scope + ".weight";
      if (value.ndim() == 4) value = permute4(value, {3, 2, 0, 1});  // HWIO -> OIHW
      if (value.ndim() == 2) value = transpose2(value);              // (in, out) -> (out, in)
    }
    RM_THROW_IF(!out.emplace(name, value).second, "tfjs tensor '", t.name, "' translates to '",
                name, "', which another tensor already has");
  }
  return out;
}

bool is_tfjs_manifest(const std::string& path) { return path.ends_with(".json"); }

}  // namespace ringmaster::models
