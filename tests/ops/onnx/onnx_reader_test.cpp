// Tests of the hand-written ONNX protobuf reader: messages encoded here by a
// tiny encoder (packed and unpacked repeated fields, every data type we
// convert), and truncated or corrupt files, which must throw ops::Error naming
// the file. Does not need libonnx-testdata, except one test on a real file.
#include "onnx_reader.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ops/half.h"

namespace ringmaster::ops::onnx {
namespace {

// A protobuf encoder, just enough to build test messages.
struct Pb {
  std::vector<uint8_t> b;

  Pb& varint(uint64_t v) {
    while (v >= 0x80) {
      b.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    b.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  Pb& tag(uint32_t field, int wire) { return varint((uint64_t{field} << 3) | wire); }
  Pb& int_field(uint32_t field, int64_t v) {
    return tag(field, 0).varint(static_cast<uint64_t>(v));
  }
  Pb& bytes_field(uint32_t field, const std::vector<uint8_t>& v) {
    tag(field, 2).varint(v.size());
    b.insert(b.end(), v.begin(), v.end());
    return *this;
  }
  Pb& string_field(uint32_t field, const std::string& s) {
    return bytes_field(field, std::vector<uint8_t>(s.begin(), s.end()));
  }
  Pb& message_field(uint32_t field, const Pb& m) { return bytes_field(field, m.b); }
  Pb& fixed32_field(uint32_t field, uint32_t v) {
    tag(field, 5);
    for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Pb& fixed64_raw(uint64_t v) {
    for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  Pb& float_field(uint32_t field, float f) {
    return fixed32_field(field, std::bit_cast<uint32_t>(f));
  }
};

template <class T>
std::vector<uint8_t> raw_bytes(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

// A (2, 3) FLOAT tensor named "x": dims unpacked, values in raw_data.
Pb float_tensor_2x3() {
  Pb t;
  t.int_field(1, 2).int_field(1, 3).int_field(2, kFloat).string_field(8, "x");
  t.bytes_field(9, raw_bytes(std::vector<float>{1, -2, 3.5f, 0, 1e-7f, -1e7f}));
  return t;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / name).string();
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Expects parse_tensor to throw an Error whose message contains `needle`.
void expect_tensor_error(const std::vector<uint8_t>& bytes, const std::string& needle) {
  try {
    parse_tensor(bytes, "case.pb");
    ADD_FAILURE() << "no error; wanted one containing '" << needle << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("case.pb"), std::string::npos) << msg;
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
  }
}

TEST(OnnxReader, FloatRawData) {
  OnnxTensor t = parse_tensor(float_tensor_2x3().b, "mem");
  EXPECT_EQ(t.name, "x");
  EXPECT_EQ(t.onnx_type, kFloat);
  EXPECT_EQ(t.tensor.dtype(), DType::f32);
  EXPECT_EQ(t.tensor.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.tensor.to_vector(), (std::vector<float>{1, -2, 3.5f, 0, 1e-7f, -1e7f}));
}

TEST(OnnxReader, PackedDimsAndTypedFields) {
  // dims packed, float_data packed.
  Pb dims;
  dims.varint(2).varint(2);
  Pb vals;
  for (float f : {1.0f, 2.0f, -3.0f, 4.25f}) {
    for (int i = 0; i < 4; ++i)
      vals.b.push_back(static_cast<uint8_t>(std::bit_cast<uint32_t>(f) >> (8 * i)));
  }
  Pb t;
  t.message_field(1, dims).int_field(2, kFloat).message_field(4, vals);
  EXPECT_EQ(parse_tensor(t.b, "mem").tensor.to_vector(), (std::vector<float>{1, 2, -3, 4.25f}));

  // float_data unpacked.
  Pb u;
  u.int_field(1, 3).int_field(2, kFloat).float_field(4, 0.5f).float_field(4, -1.0f).float_field(
      4, 7.0f);
  EXPECT_EQ(parse_tensor(u.b, "mem").tensor.to_vector(), (std::vector<float>{0.5f, -1.0f, 7.0f}));

  // int64_data, negative values, packed and unpacked mixed.
  Pb i64;
  Pb run;
  run.varint(static_cast<uint64_t>(int64_t{-1})).varint(5);
  i64.int_field(1, 3).int_field(2, kInt64).message_field(7, run).int_field(7, int64_t{1} << 40);
  OnnxTensor ti = parse_tensor(i64.b, "mem");
  ASSERT_EQ(ti.tensor.dtype(), DType::i64);
  const int64_t* p = ti.tensor.data<int64_t>();
  EXPECT_EQ(p[0], -1);
  EXPECT_EQ(p[1], 5);
  EXPECT_EQ(p[2], int64_t{1} << 40);

  // int32_data with a negative value (10-byte varint).
  Pb i32;
  i32.int_field(1, 2).int_field(2, kInt32).int_field(5, -7).int_field(5, 9);
  OnnxTensor t32 = parse_tensor(i32.b, "mem");
  ASSERT_EQ(t32.tensor.dtype(), DType::i32);
  EXPECT_EQ(t32.tensor.data<int32_t>()[0], -7);
  EXPECT_EQ(t32.tensor.data<int32_t>()[1], 9);
}

TEST(OnnxReader, DoubleHalfBoolAndScalar) {
  // DOUBLE in double_data (packed) becomes f32.
  Pb dv;
  dv.fixed64_raw(std::bit_cast<uint64_t>(0.25)).fixed64_raw(std::bit_cast<uint64_t>(-3.0));
  Pb d;
  d.int_field(1, 2).int_field(2, kDouble).message_field(10, dv);
  OnnxTensor td = parse_tensor(d.b, "mem");
  EXPECT_EQ(td.onnx_type, kDouble);
  EXPECT_EQ(td.tensor.to_vector(), (std::vector<float>{0.25f, -3.0f}));

  // FLOAT16 as raw_data and as int32_data (bit patterns).
  const std::vector<uint16_t> bits{float_to_half_scalar(1.5f), float_to_half_scalar(-0.125f)};
  Pb hr;
  hr.int_field(1, 2).int_field(2, kFloat16).bytes_field(9, raw_bytes(bits));
  Pb hi;
  hi.int_field(1, 2).int_field(2, kFloat16).int_field(5, bits[0]).int_field(5, bits[1]);
  for (const Pb* h : {&hr, &hi}) {
    OnnxTensor th = parse_tensor(h->b, "mem");
    ASSERT_EQ(th.tensor.dtype(), DType::f16);
    EXPECT_EQ(th.tensor.data<uint16_t>()[0], bits[0]);
    EXPECT_EQ(th.tensor.data<uint16_t>()[1], bits[1]);
  }

  // BOOL scalar (no dims) as u8.
  Pb b;
  b.int_field(2, kBool).bytes_field(9, {1});
  OnnxTensor tb = parse_tensor(b.b, "mem");
  EXPECT_EQ(tb.tensor.dtype(), DType::u8);
  EXPECT_EQ(tb.tensor.shape(), Shape{});
  EXPECT_EQ(tb.tensor.data<uint8_t>()[0], 1);
}

TEST(OnnxReader, ModelWithNodeAttributes) {
  Pb ints_packed;
  ints_packed.varint(1).varint(2).varint(3).varint(4);
  Pb pads;
  pads.string_field(1, "pads").message_field(8, ints_packed).int_field(20, 7);
  Pb strides;  // unpacked ints
  strides.string_field(1, "strides").int_field(8, 2).int_field(8, 3).int_field(20, 7);
  Pb eps;
  eps.string_field(1, "epsilon").float_field(2, 0.01f).int_field(20, 1);
  Pb mode;
  mode.string_field(1, "auto_pad").string_field(4, "SAME_UPPER").int_field(20, 3);
  Pb tens;
  tens.string_field(1, "value").message_field(5, float_tensor_2x3()).int_field(20, 4);
  Pb node;
  node.string_field(1, "X").string_field(1, "").string_field(1, "W").string_field(2, "Y");
  node.string_field(3, "n0").string_field(4, "Conv");
  for (const Pb* a : {&pads, &strides, &eps, &mode, &tens}) node.message_field(5, *a);
  Pb in_x;
  in_x.string_field(1, "X");
  Pb graph;
  graph.message_field(1, node).message_field(11, in_x).message_field(5, float_tensor_2x3());
  Pb opset;
  opset.string_field(1, "").int_field(2, 13);
  Pb model;
  model.int_field(1, 8).message_field(8, opset).message_field(7, graph);

  Model m = parse_model(model.b, "mem");
  EXPECT_EQ(m.opset, 13);
  ASSERT_EQ(m.nodes.size(), 1u);
  const Node& n = m.nodes[0];
  EXPECT_EQ(n.op_type, "Conv");
  EXPECT_EQ(n.inputs, (std::vector<std::string>{"X", "", "W"}));
  EXPECT_EQ(n.outputs, (std::vector<std::string>{"Y"}));
  EXPECT_EQ(n.get_ints("pads", {}), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(n.get_ints("strides", {}), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(n.get_ints("dilations", {1, 1}), (std::vector<int64_t>{1, 1}));
  EXPECT_FLOAT_EQ(n.get_float("epsilon", 0), 0.01f);
  EXPECT_EQ(n.get_string("auto_pad", "NOTSET"), "SAME_UPPER");
  ASSERT_TRUE(n.find("value") && n.find("value")->t);
  EXPECT_EQ(n.find("value")->t->tensor.shape(), (Shape{2, 3}));
  EXPECT_EQ(m.inputs, (std::vector<std::string>{"X"}));
  ASSERT_NE(m.find_initializer("x"), nullptr);
}

TEST(OnnxReader, CorruptMessagesThrow) {
  std::vector<uint8_t> good = float_tensor_2x3().b;

  Pb bad_len;  // raw_data claims 100 bytes, has 4
  bad_len.int_field(1, 1).int_field(2, kFloat).tag(9, 2).varint(100).fixed32_field(1, 0);
  expect_tensor_error(bad_len.b, "runs past the end");

  Pb long_varint;
  long_varint.tag(1, 0);
  for (int i = 0; i < 11; ++i) long_varint.b.push_back(0xff);
  expect_tensor_error(long_varint.b, "varint");

  Pb bad_wire;  // wire type 7 does not exist
  bad_wire.tag(1, 7);
  expect_tensor_error(bad_wire.b, "wire type");

  Pb wrong_wire;  // data_type as fixed32
  wrong_wire.fixed32_field(2, 1);
  expect_tensor_error(wrong_wire.b, "data_type");

  Pb size_mismatch;  // 3 elements but 8 bytes
  size_mismatch.int_field(1, 3).int_field(2, kFloat).bytes_field(9, std::vector<uint8_t>(8));
  expect_tensor_error(size_mismatch.b, "needs 12 bytes");

  Pb neg_dim;
  neg_dim.int_field(1, -2).int_field(2, kFloat);
  expect_tensor_error(neg_dim.b, "negative dimension");

  Pb no_type;
  no_type.int_field(1, 0);
  expect_tensor_error(no_type.b, "no data_type");

  Pb bfloat;
  bfloat.int_field(1, 1).int_field(2, kBfloat16).bytes_field(9, {0, 0});
  expect_tensor_error(bfloat.b, "BFLOAT16");
}

// Every strict prefix of a valid file must be rejected, naming the file. The
// prefixes are parsed from memory under the file's name (one real file read
// is tested below).
void expect_all_prefixes_fail(const std::vector<uint8_t>& whole, const std::string& name) {
  for (size_t n = 0; n < whole.size(); ++n) {
    try {
      parse_tensor(std::vector<uint8_t>(whole.begin(), whole.begin() + static_cast<long>(n)), name);
      ADD_FAILURE() << "prefix of " << n << " of " << whole.size() << " bytes was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST(OnnxReader, TruncatedFilesThrowWithFileName) {
  expect_all_prefixes_fail(float_tensor_2x3().b, "mem_2x3.pb");
}

TEST(OnnxReader, TruncatedRealTestDataThrows) {
  const std::string real =
      "/usr/share/libonnx-testdata/data/node/test_relu/test_data_set_0/output_0.pb";
  if (!std::filesystem::exists(real)) GTEST_SKIP() << "libonnx-testdata not installed";
  const std::vector<uint8_t> whole = read_file(real);
  EXPECT_EQ(read_tensor(real).tensor.shape(), (Shape{3, 4, 5}));
  const std::string path = temp_path("rm_onnx_truncated_output_0.pb");
  write_file(path, std::vector<uint8_t>(whole.begin(), whole.end() - 7));
  try {
    read_tensor(path);
    ADD_FAILURE() << "truncated file accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("raw_data"), std::string::npos) << msg;
    EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  }
  std::filesystem::remove(path);
  expect_all_prefixes_fail(whole, real);
}

TEST(OnnxReader, MissingFileThrows) {
  EXPECT_THROW(read_tensor("/nonexistent/rm_onnx_none.pb"), Error);
}

}  // namespace
}  // namespace ringmaster::ops::onnx
