// safetensors: byte layout of a written file, round trip of every dtype and
// metadata, and a clear error for each kind of corruption.
#include "models/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ops/check.h"
#include "tests/test_dir.h"

namespace ringmaster::models {
namespace {

using ops::Tensor;
namespace fs = std::filesystem;

class Safetensors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("safetensors"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
};

std::string read_bytes(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& p, const std::string& bytes) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A file from a header JSON text and a data section, as another writer might.
std::string make_file(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(n >> (8 * i));
  return out + header + data;
}

std::string error_of(const std::string& p) {
  try {
    load_safetensors(p);
  } catch (const ops::Error& e) {
    return e.what();
  }
  return "no error";
}

TEST_F(Safetensors, WritesTheReferenceLayout) {
  Tensor b = Tensor::from_vector({1.0f, 2.0f}, {2});
  Tensor a = Tensor::zeros({3}, ops::DType::u8);
  a.data<uint8_t>()[1] = 7;
  save_safetensors(path("x.safetensors"), NamedTensors{{"b", b}, {"a", a}}, {{"epoch", "3"}});
  const std::string bytes = read_bytes(path("x.safetensors"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 3 + 8);
  nlohmann::json h = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(h["a"]["dtype"], "U8");
  EXPECT_EQ(h["a"]["shape"], nlohmann::json::array({3}));
  EXPECT_EQ(h["a"]["data_offsets"], nlohmann::json::array({0, 3}));  // sorted by name
  EXPECT_EQ(h["b"]["dtype"], "F32");
  EXPECT_EQ(h["b"]["data_offsets"], nlohmann::json::array({3, 11}));
  EXPECT_EQ(h["__metadata__"]["epoch"], "3");
  EXPECT_EQ(bytes.substr(8 + n, 3), std::string("\0\x07\0", 3));
  float f[2];
  std::memcpy(f, bytes.data() + 8 + n + 3, 8);
  EXPECT_EQ(f[0], 1.0f);
  EXPECT_EQ(f[1], 2.0f);
  // No temporary left behind.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  std::mt19937_64 rng(1);
  Tensor f32 = Tensor::randn({2, 3, 4}, rng);
  Tensor f16 = Tensor::empty({5}, ops::DType::f16);
  Tensor i64 = Tensor::empty({2, 2}, ops::DType::i64);
  Tensor i32 = Tensor::empty({3}, ops::DType::i32);
  Tensor u8 = Tensor::empty({1, 1, 2, 2}, ops::DType::u8);
  Tensor scalar = Tensor::empty({}, ops::DType::i64);
  Tensor empty = Tensor::empty({0, 4});
  for (int i = 0; i < 5; ++i) f16.data<uint16_t>()[i] = static_cast<uint16_t>(0x3c00 + i);
  for (int i = 0; i < 4; ++i) i64.data<int64_t>()[i] = -(int64_t{1} << 40) + i;
  for (int i = 0; i < 3; ++i) i32.data<int32_t>()[i] = -i * 1000;
  for (int i = 0; i < 4; ++i) u8.data<uint8_t>()[i] = static_cast<uint8_t>(250 + i);
  scalar.data<int64_t>()[0] = 12345;
  NamedTensors in{{"layer.f32", f32}, {"f16", f16},     {"i64", i64},    {"i32", i32},
                  {"u8", u8},         {"step", scalar}, {"empty", empty}};
  std::map<std::string, std::string> meta{{"format", "pt"}, {"note", "a \"quoted\" value"}};
  save_safetensors(path("r.safetensors"), in, meta);
  SafetensorsFile got = load_safetensors(path("r.safetensors"));
  EXPECT_EQ(got.metadata, meta);
  ASSERT_EQ(got.tensors.size(), in.size());
  for (const auto& [name, t] : in) {
    ASSERT_TRUE(got.tensors.count(name)) << name;
    const Tensor& g = got.tensors.at(name);
    EXPECT_EQ(g.dtype(), t.dtype()) << name;
    EXPECT_EQ(g.shape(), t.shape()) << name;
    EXPECT_EQ(0, std::memcmp(g.raw(), t.raw(), t.nbytes())) << name;
  }
  // Saving the map form gives the same bytes.
  save_safetensors(path("m.safetensors"), TensorMap(in.begin(), in.end()), meta);
  EXPECT_EQ(read_bytes(path("m.safetensors")), read_bytes(path("r.safetensors")));
}

TEST_F(Safetensors, OverwritesAtomically) {
  save_safetensors(path("c.safetensors"), NamedTensors{{"x", Tensor::full({2}, 1.0f)}});
  save_safetensors(path("c.safetensors"), NamedTensors{{"x", Tensor::full({3}, 2.0f)}});
  SafetensorsFile got = load_safetensors(path("c.safetensors"));
  EXPECT_EQ(got.tensors.at("x").to_vector(), (std::vector<float>{2.0f, 2.0f, 2.0f}));
}

TEST_F(Safetensors, RejectsBadNames) {
  Tensor t = Tensor::zeros({1});
  EXPECT_THROW(save_safetensors(path("d"), NamedTensors{{"x", t}, {"x", t}}), ops::Error);
  EXPECT_THROW(save_safetensors(path("d"), NamedTensors{{"__metadata__", t}}), ops::Error);
  EXPECT_FALSE(fs::exists(path("d")));
}

TEST_F(Safetensors, CorruptHeaderLength) {
  save_safetensors(path("h"), NamedTensors{{"x", Tensor::zeros({4})}});
  std::string bytes = read_bytes(path("h"));
  bytes[0] = '\xff';
  bytes[3] = '\x7f';
  write_bytes(path("h"), bytes);
  const std::string e = error_of(path("h"));
  EXPECT_NE(e.find(path("h")), std::string::npos) << e;
  EXPECT_NE(e.find("header length"), std::string::npos) << e;
}

TEST_F(Safetensors, TooShortForTheLength) {
  write_bytes(path("s"), "abc");
  EXPECT_NE(error_of(path("s")).find("fewer than the 8-byte header length"), std::string::npos);
}

TEST_F(Safetensors, TruncatedData) {
  save_safetensors(path("t"), NamedTensors{{"a", Tensor::zeros({4})}, {"b", Tensor::zeros({4})}});
  std::string bytes = read_bytes(path("t"));
  write_bytes(path("t"), bytes.substr(0, bytes.size() - 5));
  const std::string e = error_of(path("t"));
  EXPECT_NE(e.find("tensor 'b'"), std::string::npos) << e;
  EXPECT_NE(e.find("out of bounds"), std::string::npos) << e;
}

TEST_F(Safetensors, BadJson) {
  write_bytes(path("j"), make_file("{\"x\": {\"dtype\": \"F32\", ", ""));
  EXPECT_NE(error_of(path("j")).find("not valid JSON"), std::string::npos);
  write_bytes(path("j"), make_file("[1, 2]  ", ""));
  EXPECT_NE(error_of(path("j")).find("not a JSON object"), std::string::npos);
}

TEST_F(Safetensors, OverlappingOffsets) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                        R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  write_bytes(path("o"), make_file(h, std::string(12, '\0')));
  const std::string e = error_of(path("o"));
  EXPECT_NE(e.find("overlap"), std::string::npos) << e;
  EXPECT_NE(e.find("'a'"), std::string::npos) << e;
  EXPECT_NE(e.find("'b'"), std::string::npos) << e;
}

TEST_F(Safetensors, ShapeDoesNotMatchOffsets) {
  write_bytes(path("m"), make_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})",
                                   std::string(8, '\0')));
  const std::string e = error_of(path("m"));
  EXPECT_NE(e.find("needs 12 bytes"), std::string::npos) << e;
}

TEST_F(Safetensors, UnknownDtypeGapsAndTrailingBytes) {
  write_bytes(path("u"), make_file(R"({"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}})",
                                   std::string(2, '\0')));
  EXPECT_NE(error_of(path("u")).find("unsupported dtype 'BF16'"), std::string::npos);
  write_bytes(path("g"), make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                                   std::string(2, '\0')));
  EXPECT_NE(error_of(path("g")).find("gap"), std::string::npos);
  write_bytes(path("e"), make_file(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                                   std::string(3, '\0')));
  EXPECT_NE(error_of(path("e")).find("after the last tensor"), std::string::npos);
  write_bytes(path("n"), make_file(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})",
                                   std::string(1, '\0')));
  EXPECT_NE(error_of(path("n")).find("non-negative"), std::string::npos);
  write_bytes(path("md"), make_file(R"({"__metadata__":{"k":1}})", ""));
  EXPECT_NE(error_of(path("md")).find("__metadata__"), std::string::npos);
}

TEST_F(Safetensors, MissingFile) {
  EXPECT_NE(error_of(path("nope")).find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace ringmaster::models
