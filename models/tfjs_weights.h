// TensorFlow.js weights: a `*-weights_manifest.json` (groups of {"paths":
// [.bin files], "weights": [{"name", "shape", "dtype", "quantization"}]})
// and the .bin shards it names, whose concatenation holds every tensor in
// manifest order. Reads float32 tensors stored raw or quantised (uint8 /
// uint16, value = q * scale + min), and translates tfjs names and layouts to
// ours so a manifest can initialise a model (model.init.checkpoint). No other
// dtypes (int32, bool, float16 quantisation) and no graph models (model.json).
//
// Errors: ops::Error naming the file and, for a tensor, its name (a bad
// manifest, an unknown dtype, a .bin shorter or longer than the manifest
// says). Thread-safe (no shared state); blocks on file reads.
#pragma once

#include <string>
#include <vector>

#include "models/tensor_map.h"
#include "ops/tensor.h"

namespace ringmaster::models {

struct TfjsTensor {
  std::string name;   // as in the manifest, e.g. "conv32_down/conv/filters"
  ops::Tensor value;  // f32 on the cpu, the manifest's shape (tfjs layout)
};

// Every tensor of the manifest, in manifest order, decoded to f32. The .bin
// paths are relative to the manifest's folder. The bytes the manifest needs
// (numel * 1 for uint8, * 2 for uint16, * 4 for raw float32) must equal the
// size of its group's .bin files, exactly.
std::vector<TfjsTensor> load_tfjs_weights(const std::string& manifest_path);

// Our names and layouts for tfjs tensors, so that a model whose modules are
// named like the tfjs scopes loads them with load_state_dict:
//   name: '/' becomes '.'; a last segment `filters` or `kernel` or `weights`
//   becomes `weight`, `bias` or `biases` becomes `bias`; a name with no '/'
//   (e.g. `fc`) is the weight of a module of that name (`fc.weight`).
//   layout: a 4-d weight is a conv filter, HWIO -> OIHW; a 2-d weight is a
//   dense (matmul) kernel, (in, out) -> (out, in) as our Linear holds it;
//   other ranks are kept as they are.
// Throws ops::Error when two tfjs tensors translate to one name.
TensorMap tfjs_to_state_dict(const std::vector<TfjsTensor>& tensors);

// True when `path` names a tfjs manifest (it ends in ".json"); anything else
// is taken for a safetensors checkpoint.
bool is_tfjs_manifest(const std::string& path);

}  // namespace ringmaster::models
