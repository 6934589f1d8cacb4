// A spec can name any file a worker may read, so a loader pointed at the
// wrong file must say what is wrong without echoing what it read (a job's
// failure reason travels back to whoever submitted it). Every loader of the
// model library is pointed at files shaped like /etc/shadow: text, text
// padded to look like a safetensors length, gzip of text; the message names
// the file and the problem and holds none of the secret's bytes.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

#include "error_of.h"
#include "models/dataset.h"
#include "models/lfw_subset.h"
#include "models/npy.h"
#include "models/safetensors.h"
#include "models/tfjs_weights.h"
#include "tests/test_dir.h"

namespace ringmaster::models {
namespace {

namespace fs = std::filesystem;

const std::string kSecret = "root:$6$S3CRETsalt$Hash0fThePassw0rd:19000:0:99999:7:::\n";

class LoaderErrors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("loader_errors"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  std::string write_gz(const std::string& name, const std::string& bytes) {
    const std::string p = (dir_ / name).string();
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    return p;
  }
  // The error names the file and echoes no run of the secret (nor its first
  // bytes read as a number).
  void expect_clean(const std::string& error, const std::string& file) {
    EXPECT_NE(error, "no error") << file;
    EXPECT_NE(error.find(file), std::string::npos) << error;
    for (size_t at = 0; at + 4 <= kSecret.size(); ++at)
      ASSERT_EQ(error.find(kSecret.substr(at, 4)), std::string::npos)
          << "echoes \"" << kSecret.substr(at, 4) << "\": " << error;
    uint64_t first8 = 0;
    for (int i = 7; i >= 0; --i) first8 = (first8 << 8) | static_cast<uint8_t>(kSecret[i]);
    EXPECT_EQ(error.find(std::to_string(first8)), std::string::npos) << error;
  }
  fs::path dir_;
};

TEST_F(LoaderErrors, NoLoaderEchoesTheBytesOfAFileItCannotRead) {
  const std::string text = write("shadow", kSecret + kSecret);
  // A length that fits the file, then text: the JSON parse fails on the secret.
  std::string framed(8, '\0');
  framed[0] = static_cast<char>(kSecret.size());
  const std::string fits = write("framed", framed + kSecret);
  const std::string gz = write_gz("shadow.gz", kSecret + kSecret);

  expect_clean(error_of([&] { load_safetensors(text); }), text);
  expect_clean(error_of([&] { load_safetensors(fits); }), fits);
  expect_clean(error_of([&] { load_npy(text); }), text);
  expect_clean(error_of([&] { load_lfw_subset(text); }), text);
  expect_clean(error_of([&] { load_tfjs_weights(text); }), text);
  expect_clean(error_of([&] { load_idx(gz, gz); }), gz);
  expect_clean(error_of([&] { load_digits_csv(gz); }), gz);
  expect_clean(error_of([&] { load_digits_csv(text); }), text);
}

// What libFuzzer found (fuzz/, scripts/fuzz.sh; the inputs are in
// fuzz/corpus/): a number past a double in a safetensors header or a tfjs
// manifest escaped as nlohmann's out_of_range, quoting the digits, instead
// of an ops::Error; an empty .npy of f64 passed a null pointer to memcpy.
TEST_F(LoaderErrors, WhatTheFuzzerFound) {
  const std::string header = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, )"
                             R"("__metadata__": {"x": 1e999}, "n": 44444444e4444444})";
  std::string st(8, '\0');
  for (int i = 0; i < 8; ++i)
    st[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  const std::string file = write("big-number.safetensors", st + header + std::string(4, '\0'));
  const std::string e = error_of([&] { load_safetensors(file); });
  EXPECT_NE(e.find("a number too large for a double"), std::string::npos) << e;
  EXPECT_EQ(e.find("444"), std::string::npos) << e;
  const std::string manifest = write("m.json", R"([{"paths": [], "weights": [{"x": 1e999}]}])");
  const std::string m = error_of([&] { load_tfjs_weights(manifest); });
  EXPECT_NE(m.find("a number too large for a double"), std::string::npos) << m;
  // An empty f64 array loads as nothing.
  std::string h = "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 3), }";
  h += std::string(64 - (10 + h.size() + 1) % 64, ' ') + "\n";
  std::string npy = std::string("\x93NUMPY\x01\x00", 8);
  npy += static_cast<char>(h.size() & 0xff);
  npy += static_cast<char>(h.size() >> 8);
  const NpyArray a = load_npy(write("empty.npy", npy + h));
  EXPECT_EQ(a.shape, (ops::Shape{0, 3}));
  EXPECT_TRUE(a.values.empty());
}

// The JSON inside checkpoint files is parsed with bounds: nesting past any
// stack and a key given twice are refused, named, by each loader.
TEST_F(LoaderErrors, DeepOrRepeatedJsonIsRefusedByEveryLoader) {
  const auto safetensors = [&](const std::string& name, const std::string& header) {
    std::string st(8, '\0');
    for (int i = 0; i < 8; ++i)
      st[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    return write(name, st + header + std::string(4, '\0'));
  };
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  const std::string twice = R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, )"
                            R"("w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})";
  EXPECT_NE(error_of([&] {
              load_safetensors(safetensors("deep.safetensors", deep));
            }).find("the header: nested deeper than 64 levels"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              load_safetensors(safetensors("twice.safetensors", twice));
            }).find("the header: duplicate key \"w\""),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              load_tfjs_weights(write("deep.json", deep));
            }).find("deep.json: nested deeper than 64 levels"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              load_tfjs_weights(write("tail.json", "[{\"paths\": []}] x"));
            }).find("tail.json: not valid JSON"),
            std::string::npos);
}

}  // namespace
}  // namespace ringmaster::models
