// Protobuf wire-format decoding of the ONNX messages the conformance tests use
// (see onnx_reader.h). Unknown fields are skipped by wire type; known fields
// with the wrong wire type, lengths past the end, over-long varints, and data
// whose size disagrees with dims and data_type are errors. Little-endian hosts only.
#include "onnx_reader.h"

#include <bit>
#include <cstring>
#include <fstream>
#include <iterator>

#include "ops/check.h"

namespace ringmaster::ops::onnx {

static_assert(std::endian::native == std::endian::little, "raw_data is little-endian");

const char* onnx_type_name(int32_t t) {
  switch (t) {
    case kUndefined:
      return "UNDEFINED";
    case kFloat:
      return "FLOAT";
    case kUint8:
      return "UINT8";
    case kInt8:
      return "INT8";
    case 4:
      return "UINT16";
    case 5:
      return "INT16";
    case kInt32:
      return "INT32";
    case kInt64:
      return "INT64";
    case kString:
      return "STRING";
    case kBool:
      return "BOOL";
    case kFloat16:
      return "FLOAT16";
    case kDouble:
      return "DOUBLE";
    case 12:
      return "UINT32";
    case 13:
      return "UINT64";
    case 14:
      return "COMPLEX64";
    case 15:
      return "COMPLEX128";
    case kBfloat16:
      return "BFLOAT16";
    default:
      return "unknown";
  }
}

namespace {

enum WireType : int { kVarint = 0, kFixed64 = 1, kLen = 2, kFixed32 = 5 };

// One message's bytes [p, end) inside a file that starts at `base`.
class Wire {
 public:
  Wire(const uint8_t* p, const uint8_t* end, const uint8_t* base, const std::string* what,
       std::string message)
      : p_(p), end_(end), base_(base), what_(what), message_(std::move(message)) {}

  struct Tag {
    uint32_t field = 0;
    int wire = 0;
  };

  bool done() const { return p_ >= end_; }
  const std::string& message() const { return message_; }

  Tag tag() {
    const uint8_t* at = p_;
    const uint64_t v = varint();
    if (v >> 32 != 0 || (v >> 3) == 0) fail(at, "invalid tag " + std::to_string(v));
    Tag t{static_cast<uint32_t>(v >> 3), static_cast<int>(v & 7)};
    if (t.wire == 3 || t.wire == 4) fail(at, "groups (wire type 3/4) are not supported");
    if (t.wire == 6 || t.wire == 7) fail(at, "invalid wire type " + std::to_string(t.wire));
    return t;
  }

  uint64_t varint() {
    const uint8_t* at = p_;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) fail(at, "varint runs past the end of the message");
      const uint8_t b = *p_++;
      if (shift == 63 && b > 1) fail(at, "varint overflows 64 bits");
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    fail(at, "varint longer than 10 bytes");
  }

  uint32_t fixed32() {
    need(4, "fixed32");
    uint32_t v;
    std::memcpy(&v, p_, 4);
    p_ += 4;
    return v;
  }

  uint64_t fixed64() {
    need(8, "fixed64");
    uint64_t v;
    std::memcpy(&v, p_, 8);
    p_ += 8;
    return v;
  }

  // A length-delimited payload as raw bytes.
  std::pair<const uint8_t*, size_t> bytes(const std::string& field) {
    const uint8_t* at = p_;
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end_ - p_)) {
      fail(at, "field " + field + " has length " + std::to_string(n) +
                   ", which runs past the end of the message (" + std::to_string(end_ - p_) +
                   " bytes left)");
    }
    const uint8_t* start = p_;
    p_ += n;
    return {start, static_cast<size_t>(n)};
  }

  std::string string(const std::string& field) {
    auto [d, n] = bytes(field);
    return std::string(reinterpret_cast<const char*>(d), n);
  }

  // A length-delimited payload decoded as a nested message.
  Wire sub(const std::string& message) {
    auto [d, n] = bytes(message);
    return Wire(d, d + n, base_, what_, message_ + "." + message);
  }

  void skip(int wire) {
    switch (wire) {
      case kVarint:
        varint();
        break;
      case kFixed64:
        need(8, "fixed64");
        p_ += 8;
        break;
      case kLen:
        bytes("(unknown)");
        break;
      case kFixed32:
        need(4, "fixed32");
        p_ += 4;
        break;
      default:
        fail(p_, "cannot skip wire type " + std::to_string(wire));
    }
  }

  // Checks that a known field has the wire type it should.
  void expect_wire(const Tag& t, int want, const char* field_name) const {
    if (t.wire != want) {
      fail(p_, std::string("field ") + field_name + " (" + std::to_string(t.field) +
                   ") has wire type " + std::to_string(t.wire) + ", expected " +
                   std::to_string(want));
    }
  }

  // A repeated scalar field, packed (one length-delimited run) or not.
  template <class T, class ReadOne>
  void repeated(const Tag& t, int scalar_wire, const char* field_name, std::vector<T>& out,
                ReadOne read_one) {
    if (t.wire == kLen) {
      Wire run = sub(field_name);
      while (!run.done()) out.push_back(read_one(run));
    } else {
      expect_wire(t, scalar_wire, field_name);
      out.push_back(read_one(*this));
    }
  }

  // A malformed file.
  [[noreturn]] void fail(const uint8_t* at, const std::string& problem) const {
    throw Error(*what_ + ": " + message_ + " at byte " + std::to_string(at - base_) + ": " +
                problem + " (file truncated or corrupt?)");
  }
  [[noreturn]] void fail_here(const std::string& problem) const { fail(p_, problem); }
  // A well-formed file with content the reader does not handle.
  [[noreturn]] void unsupported(const std::string& problem) const {
    throw Error(*what_ + ": " + message_ + ": " + problem);
  }

 private:
  void need(size_t n, const char* kind) {
    if (static_cast<size_t>(end_ - p_) < n) {
      fail(p_, std::string(kind) + " runs past the end of the message (" +
                   std::to_string(end_ - p_) + " bytes left)");
    }
  }

  const uint8_t* p_;
  const uint8_t* end_;
  const uint8_t* base_;
  const std::string* what_;
  std::string message_;
};

int64_t as_int64(Wire& w) { return static_cast<int64_t>(w.varint()); }
int32_t as_int32(Wire& w) { return static_cast<int32_t>(static_cast<int64_t>(w.varint())); }
float as_float(Wire& w) { return std::bit_cast<float>(w.fixed32()); }
double as_double(Wire& w) { return std::bit_cast<double>(w.fixed64()); }

// Every field of a TensorProto we may need, before conversion.
struct RawTensor {
  std::vector<int64_t> dims;
  int32_t data_type = kUndefined;
  bool has_data_type = false;
  std::vector<float> float_data;
  std::vector<int32_t> int32_data;
  std::vector<int64_t> int64_data;
  std::vector<double> double_data;
  const uint8_t* raw = nullptr;
  size_t raw_size = 0;
  bool has_raw = false;
  std::string name;
  int64_t data_location = 0;
  bool has_strings = false;
};

RawTensor decode_tensor_fields(Wire& w) {
  RawTensor r;
  while (!w.done()) {
    const Wire::Tag t = w.tag();
    switch (t.field) {
      case 1:
        w.repeated(t, kVarint, "dims", r.dims, as_int64);
        break;
      case 2:
        w.expect_wire(t, kVarint, "data_type");
        r.data_type = as_int32(w);
        r.has_data_type = true;
        break;
      case 4:
        w.repeated(t, kFixed32, "float_data", r.float_data, as_float);
        break;
      case 5:
        w.repeated(t, kVarint, "int32_data", r.int32_data, as_int32);
        break;
      case 6:
        w.skip(t.wire);
        r.has_strings = true;
        break;
      case 7:
        w.repeated(t, kVarint, "int64_data", r.int64_data, as_int64);
        break;
      case 8:
        w.expect_wire(t, kLen, "name");
        r.name = w.string("name");
        break;
      case 9: {
        w.expect_wire(t, kLen, "raw_data");
        auto [d, n] = w.bytes("raw_data");
        r.raw = d;
        r.raw_size = n;
        r.has_raw = true;
        break;
      }
      case 10:
        w.repeated(t, kFixed64, "double_data", r.double_data, as_double);
        break;
      case 14:
        w.expect_wire(t, kVarint, "data_location");
        r.data_location = as_int64(w);
        break;
      default:
        w.skip(t.wire);
    }
  }
  return r;
}

// Copies the values of a typed field into dst, converting each.
template <class Dst, class Src>
void fill_from(const std::vector<Src>& src, Dst* dst) {
  for (size_t i = 0; i < src.size(); ++i) dst[i] = static_cast<Dst>(src[i]);
}

OnnxTensor convert(const RawTensor& r, const Wire& w) {
  const std::string tname = r.name.empty() ? std::string("tensor") : "tensor '" + r.name + "'";
  if (!r.has_data_type || r.data_type == kUndefined) w.fail_here(tname + " has no data_type");
  if (r.data_location != 0) w.unsupported(tname + " uses external data, which is not supported");
  if (r.has_strings || r.data_type == kString)
    w.unsupported(tname + " holds strings (unsupported)");

  DType dt = DType::f32;
  size_t onnx_size = 4;  // bytes per element in raw_data
  switch (r.data_type) {
    case kFloat:
      break;
    case kDouble:
      onnx_size = 8;
      break;
    case kFloat16:
      dt = DType::f16, onnx_size = 2;
      break;
    case kInt64:
      dt = DType::i64, onnx_size = 8;
      break;
    case kInt32:
      dt = DType::i32;
      break;
    case kUint8:
    case kBool:
      dt = DType::u8, onnx_size = 1;
      break;
    default:
      w.unsupported(tname + " has data_type " + std::to_string(r.data_type) + " (" +
                    onnx_type_name(r.data_type) + "), which the reader does not convert");
  }

  Shape shape;
  int64_t numel = 1;
  for (int64_t d : r.dims) {
    if (d < 0) w.fail_here(tname + " has a negative dimension " + std::to_string(d));
    if (d != 0 && numel > (int64_t{1} << 40) / d) w.fail_here(tname + " dims overflow");
    numel *= d;
    shape.push_back(d);
  }

  size_t typed_count = 0;
  switch (r.data_type) {
    case kFloat:
      typed_count = r.float_data.size();
      break;
    case kDouble:
      typed_count = r.double_data.size();
      break;
    case kInt64:
      typed_count = r.int64_data.size();
      break;
    default:
      typed_count = r.int32_data.size();
      break;
  }
  const size_t n = static_cast<size_t>(numel);
  if (r.has_raw && typed_count != 0) w.fail_here(tname + " has both raw_data and typed data");
  if (r.has_raw) {
    if (r.raw_size != n * onnx_size) {
      w.fail_here(tname + " of shape " + shape_str(shape) + " " + onnx_type_name(r.data_type) +
                  " needs " + std::to_string(n * onnx_size) + " bytes of raw_data, has " +
                  std::to_string(r.raw_size));
    }
  } else if (typed_count != n) {
    w.fail_here(tname + " of shape " + shape_str(shape) + " needs " + std::to_string(n) +
                " values, has " + std::to_string(typed_count));
  }

  OnnxTensor out;
  out.name = r.name;
  out.onnx_type = r.data_type;
  out.tensor = Tensor::empty(shape, dt);
  if (n == 0) return out;
  if (r.data_type == kDouble) {
    std::vector<double> vals = r.double_data;
    if (r.has_raw) {
      vals.resize(n);
      std::memcpy(vals.data(), r.raw, r.raw_size);
    }
    fill_from(vals, out.tensor.data<float>());
  } else if (r.has_raw) {
    std::memcpy(out.tensor.raw(), r.raw, r.raw_size);
  } else {
    switch (r.data_type) {
      case kFloat:
        fill_from(r.float_data, out.tensor.data<float>());
        break;
      case kInt64:
        fill_from(r.int64_data, out.tensor.data<int64_t>());
        break;
      case kInt32:
        fill_from(r.int32_data, out.tensor.data<int32_t>());
        break;
      case kFloat16:
        fill_from(r.int32_data, out.tensor.data<uint16_t>());
        break;
      default:
        fill_from(r.int32_data, out.tensor.data<uint8_t>());
        break;  // UINT8, BOOL
    }
  }
  return out;
}

OnnxTensor decode_tensor(Wire& w) {
  RawTensor r = decode_tensor_fields(w);
  return convert(r, w);
}

Attribute decode_attribute(Wire& w) {
  Attribute a;
  while (!w.done()) {
    const Wire::Tag t = w.tag();
    switch (t.field) {
      case 1:
        w.expect_wire(t, kLen, "name");
        a.name = w.string("name");
        break;
      case 2:
        w.expect_wire(t, kFixed32, "f");
        a.f = as_float(w);
        break;
      case 3:
        w.expect_wire(t, kVarint, "i");
        a.i = as_int64(w);
        break;
      case 4:
        w.expect_wire(t, kLen, "s");
        a.s = w.string("s");
        break;
      case 5: {
        w.expect_wire(t, kLen, "t");
        Wire tw = w.sub("t");
        a.t = decode_tensor(tw);
        break;
      }
      case 7:
        w.repeated(t, kFixed32, "floats", a.floats, as_float);
        break;
      case 8:
        w.repeated(t, kVarint, "ints", a.ints, as_int64);
        break;
      case 20:
        w.expect_wire(t, kVarint, "type");
        a.type = as_int32(w);
        break;
      default:
        w.skip(t.wire);
    }
  }
  return a;
}

Node decode_node(Wire& w) {
  Node n;
  while (!w.done()) {
    const Wire::Tag t = w.tag();
    switch (t.field) {
      case 1:
        w.expect_wire(t, kLen, "input");
        n.inputs.push_back(w.string("input"));
        break;
      case 2:
        w.expect_wire(t, kLen, "output");
        n.outputs.push_back(w.string("output"));
        break;
      case 4:
        w.expect_wire(t, kLen, "op_type");
        n.op_type = w.string("op_type");
        break;
      case 5: {
        w.expect_wire(t, kLen, "attribute");
        Wire aw = w.sub("attribute");
        n.attributes.push_back(decode_attribute(aw));
        break;
      }
      case 7:
        w.expect_wire(t, kLen, "domain");
        n.domain = w.string("domain");
        break;
      default:
        w.skip(t.wire);
    }
  }
  if (n.op_type.empty()) w.fail_here("node has no op_type");
  return n;
}

// ValueInfoProto: only its name(1).
std::string decode_value_info_name(Wire& w) {
  std::string name;
  while (!w.done()) {
    const Wire::Tag t = w.tag();
    if (t.field == 1) {
      w.expect_wire(t, kLen, "name");
      name = w.string("name");
    } else {
      w.skip(t.wire);
    }
  }
  return name;
}

void decode_graph(Wire& w, Model& m) {
  while (!w.done()) {
    const Wire::Tag t = w.tag();
    switch (t.field) {
      case 1: {
        w.expect_wire(t, kLen, "node");
        Wire nw = w.sub("node");
        m.nodes.push_back(decode_node(nw));
        break;
      }
      case 5: {
        w.expect_wire(t, kLen, "initializer");
        Wire tw = w.sub("initializer");
        m.initializers.push_back(decode_tensor(tw));
        break;
      }
      case 11: {
        w.expect_wire(t, kLen, "input");
        Wire iw = w.sub("input");
        m.inputs.push_back(decode_value_info_name(iw));
        break;
      }
      case 12: {
        w.expect_wire(t, kLen, "output");
        Wire ow = w.sub("output");
        m.outputs.push_back(decode_value_info_name(ow));
        break;
      }
      default:
        w.skip(t.wire);
    }
  }
}

// OperatorSetIdProto: domain(1), version(2).
void decode_opset(Wire& w, Model& m) {
  std::string domain;
  int64_t version = 0;
  while (!w.done()) {
    const Wire::Tag t = w.tag();
    if (t.field == 1) {
      w.expect_wire(t, kLen, "domain");
      domain = w.string("domain");
    } else if (t.field == 2) {
      w.expect_wire(t, kVarint, "version");
      version = as_int64(w);
    } else {
      w.skip(t.wire);
    }
  }
  if (domain.empty() || domain == "ai.onnx") m.opset = version;
}

}  // namespace

const OnnxTensor* Model::find_initializer(const std::string& name) const {
  for (const OnnxTensor& t : initializers) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const Attribute* Node::find(const std::string& name) const {
  for (const Attribute& a : attributes) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

int64_t Node::get_int(const std::string& name, int64_t fallback) const {
  const Attribute* a = find(name);
  return a ? a->i : fallback;
}

float Node::get_float(const std::string& name, float fallback) const {
  const Attribute* a = find(name);
  return a ? a->f : fallback;
}

std::string Node::get_string(const std::string& name, const std::string& fallback) const {
  const Attribute* a = find(name);
  return a ? a->s : fallback;
}

std::vector<int64_t> Node::get_ints(const std::string& name, std::vector<int64_t> fallback) const {
  const Attribute* a = find(name);
  return a ? a->ints : fallback;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  RM_THROW_IF(!in, "onnx: cannot open ", path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  RM_THROW_IF(in.bad(), "onnx: error reading ", path);
  return bytes;
}

Model parse_model(const std::vector<uint8_t>& bytes, const std::string& what) {
  const uint8_t* base = bytes.data();
  Wire w(base, base + bytes.size(), base, &what, "ModelProto");
  Model m;
  bool has_graph = false;
  while (!w.done()) {
    const Wire::Tag t = w.tag();
    if (t.field == 7) {
      w.expect_wire(t, kLen, "graph");
      Wire gw = w.sub("graph");
      decode_graph(gw, m);
      has_graph = true;
    } else if (t.field == 8) {
      w.expect_wire(t, kLen, "opset_import");
      Wire ow = w.sub("opset_import");
      decode_opset(ow, m);
    } else {
      w.skip(t.wire);
    }
  }
  if (!has_graph) w.fail_here("model has no graph");
  if (m.nodes.empty()) w.fail_here("graph has no nodes");
  return m;
}

OnnxTensor parse_tensor(const std::vector<uint8_t>& bytes, const std::string& what) {
  const uint8_t* base = bytes.data();
  Wire w(base, base + bytes.size(), base, &what, "TensorProto");
  return decode_tensor(w);
}

}  // namespace ringmaster::ops::onnx
