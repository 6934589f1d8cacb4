// The safetensors checkpoint format (huggingface/safetensors), so PyTorch
// and others read our checkpoints: an 8-byte little-endian u64 header length
// N, N bytes of JSON {"name": {"dtype", "shape", "data_offsets": [begin,
// end]}, "__metadata__": {string: string}} padded with spaces to a multiple
// of 8, then the raw little-endian tensor bytes, tensors in name order.
// Writes are atomic (temporary file in the same folder, fsync, rename,
// fsync of the folder); reads validate everything. No memory mapping, no
// lazy loading: a whole file is read into fresh CPU tensors.
//
// Errors: ops::Error naming the file and the problem. Thread-safe (no shared
// state); both calls block on I/O.
#pragma once

#include <map>
#include <string>

#include "models/tensor_map.h"

namespace ringmaster::models {

struct SafetensorsFile {
  TensorMap tensors;  // by name: plain cpu tensors
  std::map<std::string, std::string> metadata;
};

// dtypes: f32 "F32", f16 "F16", i64 "I64", i32 "I32", u8 "U8". Blocked or
// device tensors are written as plain CPU bytes. Duplicate or empty names,
// or the name "__metadata__", throw. Replaces an existing file atomically.
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// Checks: file at least 8 bytes; header length within the file (and at most
// 100 MB); header valid JSON and an object; each entry an object with a
// known dtype, a shape of non-negative integers and two data_offsets with
// begin <= end; numel * dtype size == end - begin; offsets within the data;
// tensors neither overlapping nor leaving gaps, and covering the data to its
// end (as the reference implementation requires); metadata values strings.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace ringmaster::models
