// A minimal reader for ONNX test cases (model.onnx, input_*.pb, output_*.pb):
// decodes the protobuf wire format by hand (no libprotobuf) and keeps only the
// fields the node conformance tests need. Every read is bounds-checked; a
// truncated or corrupt file throws ops::Error naming the file and the problem.
// It does not read external data, strings, sparse tensors or subgraphs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops::onnx {

// TensorProto.DataType values we know by name.
enum OnnxType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kBfloat16 = 16,
};
const char* onnx_type_name(int32_t t);

// A TensorProto converted to an ops::Tensor (cpu, plain): FLOAT and DOUBLE
// become f32 (DOUBLE loses precision), FLOAT16 f16, INT64 i64, INT32 i32,
// UINT8 and BOOL u8. Other types throw ops::Error.
struct OnnxTensor {
  std::string name;
  int32_t onnx_type = kUndefined;
  Tensor tensor;
};

struct Attribute {
  std::string name;
  int32_t type = 0;  // AttributeProto.AttributeType (FLOAT=1, INT=2, STRING=3, TENSOR=4, ...)
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  std::optional<OnnxTensor> t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
};

struct Node {
  std::string op_type;
  std::string domain;
  std::vector<std::string> inputs;  // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<Attribute> attributes;

  const Attribute* find(const std::string& name) const;
  int64_t get_int(const std::string& name, int64_t fallback) const;
  float get_float(const std::string& name, float fallback) const;
  std::string get_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& name, std::vector<int64_t> fallback) const;
};

struct Model {
  int64_t opset = 0;  // version of the default ("" / "ai.onnx") domain
  std::vector<Node> nodes;
  std::vector<std::string> inputs;  // graph input names, in order (may include initializers)
  std::vector<std::string> outputs;
  std::vector<OnnxTensor> initializers;  // constant inputs stored in the graph

  const OnnxTensor* find_initializer(const std::string& name) const;
};

// Read a whole file; throws ops::Error when it cannot.
std::vector<uint8_t> read_file(const std::string& path);

// Decode a ModelProto / a TensorProto. `what` names the source in errors.
Model parse_model(const std::vector<uint8_t>& bytes, const std::string& what);
OnnxTensor parse_tensor(const std::vector<uint8_t>& bytes, const std::string& what);

inline Model read_model(const std::string& path) { return parse_model(read_file(path), path); }
inline OnnxTensor read_tensor(const std::string& path) {
  return parse_tensor(read_file(path), path);
}

}  // namespace ringmaster::ops::onnx
