// tfjs weights manifests: decoding (raw float32, uint8 and uint16
// quantisation, shards concatenated), byte accounting, name and layout
// translation (HWIO -> OIHW, dense (in, out) -> (out, in)), errors that name
// the tensor, and the real face-api manifest when install-deps fetched it.
#include "models/tfjs_weights.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include "error_of.h"
#include "tests/test_dir.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

namespace ringmaster::models {
namespace {

namespace fs = std::filesystem;

class TfjsFiles : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("tfjs"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
  }
  std::string manifest(const nlohmann::json& j) const {
    write("m.json", j.dump());
    return path("m.json");
  }
  fs::path dir_;
};

std::string f32_bytes(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.data(), s.size());
  return s;
}

// conv "a/conv/filters" (2, 1, 1, 3) HWIO uint8; "a/conv/bias" (3) float32;
// "fc" (2, 3) uint16: 6 + 12 + 12 = 30 bytes over two shards.
nlohmann::json three_tensors() {
  return nlohmann::json::array(
      {{{"paths", {"w.bin.1", "w.bin.2"}},
        {"weights",
         {{{"name", "a/conv/filters"},
           {"shape", {2, 1, 1, 3}},
           {"dtype", "float32"},
           {"quantization", {{"dtype", "uint8"}, {"scale", 0.5}, {"min", -1.0}}}},
          {{"name", "a/conv/bias"}, {"shape", {3}}, {"dtype", "float32"}},
          {{"name", "fc"},
           {"shape", {2, 3}},
           {"dtype", "float32"},
           {"quantization", {{"dtype", "uint16"}, {"scale", 0.25}, {"min", 2.0}}}}}}}});
}

std::string three_tensor_bytes() {
  std::string s = {0, 1, 2, 3, 4, 5};  // filters: q * 0.5 - 1
  s += f32_bytes({0.5f, -1.5f, 3.25f});
  for (int q : {0, 1, 2, 300, 4, 5}) {  // fc: q * 0.25 + 2, little-endian u16
    s.push_back(static_cast<char>(q & 0xff));
    s.push_back(static_cast<char>(q >> 8));
  }
  return s;
}

TEST_F(TfjsFiles, DecodesQuantisedAndRawTensorsAcrossShards) {
  const std::string bytes = three_tensor_bytes();
  ASSERT_EQ(bytes.size(), 30u);
  write("w.bin.1", bytes.substr(0, 10));
  write("w.bin.2", bytes.substr(10));
  const auto t = load_tfjs_weights(manifest(three_tensors()));
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].name, "a/conv/filters");
  EXPECT_EQ(t[0].value.shape(), (ops::Shape{2, 1, 1, 3}));
  EXPECT_EQ(t[0].value.to_vector(), (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f}));
  EXPECT_EQ(t[1].value.to_vector(), (std::vector<float>{0.5f, -1.5f, 3.25f}));
  EXPECT_EQ(t[2].value.to_vector(), (std::vector<float>{2.0f, 2.25f, 2.5f, 77.0f, 3.0f, 3.25f}));
}

TEST_F(TfjsFiles, TranslatesNamesAndLayouts) {
  const std::string bytes = three_tensor_bytes();
  write("w.bin.1", bytes.substr(0, 10));
  write("w.bin.2", bytes.substr(10));
  const TensorMap m = tfjs_to_state_dict(load_tfjs_weights(manifest(three_tensors())));
  ASSERT_EQ(m.size(), 3u);
  ASSERT_TRUE(m.count("a.conv.weight") && m.count("a.conv.bias") && m.count("fc.weight"));
  // HWIO (2, 1, 1, 3) -> OIHW (3, 1, 2, 1): w[o][0][h][0] = hwio[h][0][0][o].
  const ops::Tensor& w = m.at("a.conv.weight");
  EXPECT_EQ(w.shape(), (ops::Shape{3, 1, 2, 1}));
  EXPECT_EQ(w.to_vector(), (std::vector<float>{-1.0f, 0.5f, -0.5f, 1.0f, 0.0f, 1.5f}));
  // (in 2, out 3) -> (out 3, in 2).
  const ops::Tensor& fc = m.at("fc.weight");
  EXPECT_EQ(fc.shape(), (ops::Shape{3, 2}));
  EXPECT_EQ(fc.to_vector(), (std::vector<float>{2.0f, 77.0f, 2.25f, 3.0f, 2.5f, 3.25f}));
  EXPECT_EQ(m.at("a.conv.bias").shape(), (ops::Shape{3}));
}

TEST_F(TfjsFiles, ScaleLayerNamesTranslate) {
  write("w.bin", f32_bytes({1, 2, 3, 4}));
  const auto j = nlohmann::json::array(
      {{{"paths", {"w.bin"}},
        {"weights",
         {{{"name", "b/scale/weights"}, {"shape", {2}}, {"dtype", "float32"}},
          {{"name", "b/scale/biases"}, {"shape", {2}}, {"dtype", "float32"}}}}}});
  const TensorMap m = tfjs_to_state_dict(load_tfjs_weights(manifest(j)));
  EXPECT_EQ(m.at("b.scale.weight").to_vector(), (std::vector<float>{1, 2}));
  EXPECT_EQ(m.at("b.scale.bias").to_vector(), (std::vector<float>{3, 4}));
}

TEST_F(TfjsFiles, TruncatedBinNamesTheTensor) {
  const std::string bytes = three_tensor_bytes();
  write("w.bin.1", bytes.substr(0, 10));
  write("w.bin.2", bytes.substr(10, 15));  // fc is 5 bytes short
  const std::string e = error_of([&] { load_tfjs_weights(manifest(three_tensors())); });
  EXPECT_NE(e.find("'fc'"), std::string::npos) << e;
  EXPECT_NE(e.find("needs bytes [18, 30)"), std::string::npos) << e;
  EXPECT_NE(e.find("only 25 bytes"), std::string::npos) << e;
}

TEST_F(TfjsFiles, ExtraBytesAreAnError) {
  write("w.bin.1", three_tensor_bytes());
  write("w.bin.2", "xy");
  const std::string e = error_of([&] { load_tfjs_weights(manifest(three_tensors())); });
  EXPECT_NE(e.find("hold(s) 32 bytes but the manifest's tensors take 30"), std::string::npos) << e;
}

TEST_F(TfjsFiles, AShardOutsideTheManifestsFolderIsRefused) {
  fs::create_directories(dir_ / "model");
  write("secret.bin", three_tensor_bytes());  // beside the folder, not in it
  std::error_code ec;
  fs::create_symlink(dir_ / "secret.bin", dir_ / "model" / "link.bin", ec);
  ASSERT_FALSE(ec) << ec.message();
  for (const std::string& shard : {std::string("../secret.bin"), (dir_ / "secret.bin").string(),
                                   std::string("a/../../secret.bin"), std::string("link.bin")}) {
    nlohmann::json m = three_tensors();
    m[0]["paths"] = {shard};
    const std::string mp = (dir_ / "model" / "m.json").string();
    std::ofstream(mp) << m.dump();
    const std::string e = error_of([&] { load_tfjs_weights(mp); });
    EXPECT_NE(e.find("shard path \"" + shard + "\""), std::string::npos) << e;
    EXPECT_TRUE(e.find("must name a file in the manifest's folder") != std::string::npos ||
                e.find("leads out of the manifest's folder") != std::string::npos)
        << e;
  }
  // A shard in a subfolder of the manifest's is fine.
  fs::create_directories(dir_ / "model" / "shards");
  std::ofstream(dir_ / "model" / "shards" / "w.bin", std::ios::binary) << three_tensor_bytes();
  nlohmann::json m = three_tensors();
  m[0]["paths"] = {"shards/w.bin"};
  std::ofstream(dir_ / "model" / "m.json") << m.dump();
  EXPECT_EQ(load_tfjs_weights((dir_ / "model" / "m.json").string()).size(), 3u);
}

TEST_F(TfjsFiles, BadEntriesAreNamed) {
  write("w.bin", std::string(64, '\0'));
  auto one = [&](nlohmann::json w) {
    return error_of([&] {
      load_tfjs_weights(
          manifest(nlohmann::json::array({{{"paths", {"w.bin"}}, {"weights", {w}}}})));
    });
  };
  EXPECT_NE(one({{"name", "t/int"}, {"shape", {2}}, {"dtype", "int32"}}).find("'t/int': dtype"),
            std::string::npos);
  EXPECT_NE(one({{"name", "t/q"},
                 {"shape", {2}},
                 {"dtype", "float32"},
                 {"quantization", {{"dtype", "float16"}, {"scale", 1}, {"min", 0}}}})
                .find("'t/q': quantization dtype \"float16\""),
            std::string::npos);
  EXPECT_NE(one({{"name", "t/s"}, {"shape", {-1}}, {"dtype", "float32"}}).find("'t/s': shape"),
            std::string::npos);
  EXPECT_NE(one({{"shape", {1}}, {"dtype", "float32"}}).find("weights[0] has no string \"name\""),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              load_tfjs_weights(manifest(nlohmann::json::object()));
            }).find("non-empty JSON array"),
            std::string::npos);
  write("bad.json", "[{\"paths\": ");
  EXPECT_NE(error_of([&] { load_tfjs_weights(path("bad.json")); }).find("not valid JSON"),
            std::string::npos);
  const std::string missing = error_of([&] {
    load_tfjs_weights(manifest(nlohmann::json::array(
        {{{"paths", {"nope.bin"}},
          {"weights", {{{"name", "x"}, {"shape", {1}}, {"dtype", "float32"}}}}}})));
  });
  EXPECT_NE(missing.find("cannot open"), std::string::npos) << missing;
  EXPECT_NE(missing.find("nope.bin"), std::string::npos) << missing;
  const std::string twice = error_of([&] {
    load_tfjs_weights(manifest(
        nlohmann::json::array({{{"paths", {"w.bin"}},
                                {"weights",
                                 {{{"name", "x"}, {"shape", {8}}, {"dtype", "float32"}},
                                  {{"name", "x"}, {"shape", {8}}, {"dtype", "float32"}}}}}})));
  });
  EXPECT_NE(twice.find("'x' appears twice"), std::string::npos) << twice;
}

TEST(TfjsNames, CollidingTranslationsAreAnError) {
  std::vector<TfjsTensor> t{{"a/bias", ops::Tensor::zeros({1})},
                            {"a/biases", ops::Tensor::zeros({1})}};
  EXPECT_NE(error_of([&] { tfjs_to_state_dict(t); }).find("translates to 'a.bias'"),
            std::string::npos);
  EXPECT_TRUE(is_tfjs_manifest("x/face_recognition_model-weights_manifest.json"));
  EXPECT_FALSE(is_tfjs_manifest("runs/x/final.safetensors"));
}

// The real face-api weights (scripts/install-deps.sh puts them in data/).
TEST(TfjsFaceApi, ReadsFaceRecognitionModel) {
  const std::string dir = std::string(RINGMASTER_SOURCE_DIR) + "/data/face-api/";
  const std::string manifest = dir + "face_recognition_model-weights_manifest.json";
  if (!fs::exists(manifest)) GTEST_SKIP() << manifest << " is missing; run scripts/install-deps.sh";
  const auto t = load_tfjs_weights(manifest);
  ASSERT_EQ(t.size(), 117u);  // 29 conv layers x 4 tensors, plus fc
  int64_t numel = 0;
  for (const auto& x : t) numel += x.value.numel();
  EXPECT_EQ(numel, 5614592);  // face_resnet_test derives it from the layers
  EXPECT_EQ(t.front().name, "conv32_down/conv/filters");
  EXPECT_EQ(t.front().value.shape(), (ops::Shape{7, 7, 3, 32}));
  EXPECT_EQ(t.back().name, "fc");
  EXPECT_EQ(t.back().value.shape(), (ops::Shape{256, 128}));
  // The first value decoded by hand: byte 0 of the .bin, q * scale + min.
  std::ifstream bin(dir + "face_recognition_model.bin", std::ios::binary);
  const int q0 = bin.get();
  EXPECT_FLOAT_EQ(t.front().value.to_vector()[0],
                  static_cast<float>(q0 * 0.0005260649557207145 - 0.07101876902229645));
}

}  // namespace
}  // namespace ringmaster::models
