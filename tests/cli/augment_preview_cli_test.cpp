// `ringmaster augment-preview` as a user runs it on real digits: the PNG it
// writes (signature, size from the IHDR chunk, grey), reproducibility (the
// same spec gives the same bytes), and a spec without data.augment (exit 2).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/cli/run_cli.h"
#include "tests/test_dir.h"

namespace {

namespace fs = std::filesystem;

using ringmaster::testing_support::slurp;

uint32_t be32(const std::string& s, size_t at) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[at])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[at + 2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[at + 3]));
}

class AugmentPreviewCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ringmaster::testing_support::fresh_test_dir("preview_cli"); }
  void TearDown() override { fs::remove_all(dir_); }
  int run(const nlohmann::json& spec, const std::string& args) {
    const fs::path spec_path = dir_ / "spec.json";
    std::ofstream(spec_path) << spec.dump(2);
    return ringmaster::testing_support::run_ringmaster(
               "augment-preview " + spec_path.string() + " " + args, dir_)
        .exit_code;
  }
  fs::path dir_;
};

std::string digits_path() { return std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz"; }

TEST_F(AugmentPreviewCli, WritesAReproduciblePngGrid) {
  if (!fs::exists(digits_path()))
    GTEST_SKIP() << digits_path() << " missing: run scripts/install-deps.sh";
  const nlohmann::json spec = {{"data",
                                {{"dataset", "digits"},
                                 {"path", digits_path()},
                                 {"augment",
                                  {{{"type", "rotate"}, {"degrees", 20}},
                                   {{"type", "crop"}, {"padding", 1}},
                                   {{"type", "cutout"}, {"size", 3}, {"p", 0.5}}}}}}};
  ASSERT_EQ(run(spec, "--out " + (dir_ / "a.png").string() + " --samples 3 --columns 5 --zoom 2"),
            0)
      << slurp(dir_ / "err.txt");
  const std::string png = slurp(dir_ / "a.png");
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  // 8x8 digits at zoom 2 with 2-pixel gutters: 5*16 + 6*2 wide, 3*16 + 4*2 high.
  EXPECT_EQ(be32(png, 16), 92u);
  EXPECT_EQ(be32(png, 20), 56u);
  EXPECT_EQ(static_cast<int>(png[25]), 0);  // colour type 0: grey
  ASSERT_EQ(run(spec, "--out " + (dir_ / "b.png").string() + " --samples 3 --columns 5 --zoom 2"),
            0);
  EXPECT_EQ(slurp(dir_ / "b.png"), png);
}

TEST_F(AugmentPreviewCli, SpecWithoutAugmentIsAUsageError) {
  EXPECT_EQ(run({{"data", {{"dataset", "digits"}}}}, "--out " + (dir_ / "x.png").string()), 2);
  EXPECT_NE(slurp(dir_ / "err.txt").find("no data.augment"), std::string::npos);
  EXPECT_EQ(
      run({{"data", {{"augment", {{{"type", "spin"}}}}}}}, "--out " + (dir_ / "x.png").string()),
      2);
  EXPECT_NE(slurp(dir_ / "err.txt").find("/data/augment/0/type"), std::string::npos);
}

}  // namespace
