// `ringmaster classify` as a user runs it, on a classifier that `ringmaster
// train` fitted to an image folder of real data (scikit-learn's digits
// written as PNGs): --test's top-1 accuracy is the trainer's test accuracy,
// an image file is read as the training images were (its probabilities are
// those --test gives the same image), and a spec of another task or a file
// that is no image is an error naming it.
#include <gtest/gtest.h>
#include <stb/stb_image_write.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/run_cli.h"
#include "tests/test_dir.h"

namespace {

namespace fs = std::filesystem;
using ringmaster::testing_support::CliResult;
using ringmaster::testing_support::run_ringmaster;
using ringmaster::testing_support::slurp;

std::string digits_path() { return std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz"; }

// digits.csv.gz's rows: 64 values 0..16, then the label.
std::vector<std::vector<int>> digit_rows() {
  gzFile f = gzopen(digits_path().c_str(), "rb");
  std::string text;
  char buf[65536];
  for (int n; (n = gzread(f, buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  gzclose(f);
  std::vector<std::vector<int>> rows;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::vector<int> row;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stoi(cell));
    if (row.size() == 65) rows.push_back(row);
  }
  return rows;
}

class ClassifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(digits_path())) GTEST_SKIP() << digits_path() << " missing";
    dir_ = ringmaster::testing_support::fresh_test_dir("classify_cli");
    // Every fourth digit is held out; files named by their row, zero-padded.
    const std::vector<std::vector<int>> rows = digit_rows();
    ASSERT_EQ(rows.size(), 1797u);
    for (size_t i = 0; i < rows.size(); ++i) {
      std::vector<uint8_t> px;
      for (int j = 0; j < 64; ++j) px.push_back(static_cast<uint8_t>(rows[i][j] * 255 / 16));
      char name[32];
      std::snprintf(name, sizeof name, "%04zu.png", i);
      const fs::path p = dir_ / "digits" / (i % 4 == 0 ? "test" : "train") /
                         ("digit-" + std::to_string(rows[i][64])) / name;
      fs::create_directories(p.parent_path());
      ASSERT_NE(stbi_write_png(p.c_str(), 8, 8, 1, px.data(), 8), 0);
    }
    spec_ = (dir_ / "spec.json").string();
    std::ofstream(spec_)
        << nlohmann::json{{"name", "digits-folder"},
                          {"model", {{"name", "mlp"}, {"hidden", {64}}}},
                          {"data",
                           {{"dataset", "image-folder"}, {"path", (dir_ / "digits").string()}}},
                          {"train",
                           {{"epochs", 20}, {"batch_size", 32}, {"seed", 5}, {"threads", 1}}},
                          {"optimizer", {{"name", "adam"}, {"lr", 0.003}}},
                          {"checkpoint", {{"path", (dir_ / "final.safetensors").string()}}}}
               .dump();
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  CliResult run(const std::string& args) { return run_ringmaster(args, dir_, 300); }

  fs::path dir_;
  std::string spec_;
};

TEST_F(ClassifyCli, ReportsWhatTheTrainerMeasuredAndReadsFilesAsItDid) {
  CliResult r = run("train " + spec_ + " --metrics-out " + (dir_ / "m.json").string());
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const double trained = nlohmann::json::parse(slurp(dir_ / "m.json"))["test_accuracy"];
  EXPECT_GE(trained, 0.85) << r.out;  // 450 held-out real digits; chance is 0.1

  const std::string model = spec_ + " " + (dir_ / "final.safetensors").string();
  r = run("classify " + model + " --test 1000 --top 3 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const nlohmann::json test = nlohmann::json::parse(r.out);
  ASSERT_EQ(test["test_images"].get<int>(), 450);
  // One image at a time against the trainer's batches: a near tie may fall
  // the other way, no more.
  EXPECT_NEAR(test["top1_accuracy"].get<double>(), trained, 1.5 / 450) << r.out;
  EXPECT_GE(test["topk_accuracy"].get<double>(), test["top1_accuracy"].get<double>());
  EXPECT_EQ(test["images"][0]["truth"], "digit-0");

  // The first test file is test image 0: the same probabilities from the file.
  const fs::path first = dir_ / "digits" / "test" / "digit-0" / "0000.png";
  r = run("classify " + model + " " + first.string() + " --top 10 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const nlohmann::json file = nlohmann::json::parse(r.out);
  ASSERT_EQ(file["images"][0]["classes"].size(), 10u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(file["images"][0]["classes"][k]["class"], test["images"][0]["classes"][k]["class"]);
    EXPECT_NEAR(file["images"][0]["classes"][k]["probability"].get<double>(),
                test["images"][0]["classes"][k]["probability"].get<double>(), 1e-5);
  }
  r = run("classify " + model + " " + first.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind(first.string() + ": digit-", 0), 0u) << r.out;
}

TEST_F(ClassifyCli, OtherTasksAndNonImagesAreErrorsNamingThem) {
  CliResult r = run("classify " + std::string(RINGMASTER_SOURCE_DIR) +
                    "/examples/fortunes-char-lstm.json x.safetensors a.png");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("data set \"fortunes\" is language_model"), std::string::npos) << r.err;
  r = run("classify " + spec_ + " " + (dir_ / "none.safetensors").string());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("give image files or --test N"), std::string::npos) << r.err;
  ASSERT_EQ(run("train " + spec_).exit_code, 0);
  std::ofstream(dir_ / "fake.png") << "not a picture";
  r = run("classify " + spec_ + " " + (dir_ / "final.safetensors").string() + " " +
          (dir_ / "fake.png").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find((dir_ / "fake.png").string() + ": not an image"), std::string::npos)
      << r.err;
}

}  // namespace
