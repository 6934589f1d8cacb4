// --gpus as a user types it: `ringmaster train --gpus` decides the device a
// run trains on, and `ringmaster worker` / `ringmaster up` refuse a list they
// cannot honour, naming it, before they start anything.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "ops/device_memory.h"
#include "tests/cli/run_cli.h"
#include "tests/test_dir.h"

namespace {

namespace fs = std::filesystem;

using ringmaster::testing_support::CliResult;

std::string digits_path() { return std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz"; }

class GpusCli : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = ringmaster::testing_support::fresh_test_dir("gpus_cli"); }
  void TearDown() override { fs::remove_all(dir_); }

  CliResult run(const std::string& args) {
    return ringmaster::testing_support::run_ringmaster(args, dir_, 120);
  }

  // `ringmaster train` of a few real digits on the CPU's one thread.
  CliResult train(const std::string& gpus) {
    const fs::path spec = dir_ / "spec.json";
    std::ofstream(spec) << nlohmann::json{
        {"data",
         {{"dataset", "digits"}, {"path", digits_path()}, {"train_limit", 64}, {"test_limit", 32}}},
        {"train", {{"threads", 1}, {"batch_size", 32}}},
        {"checkpoint",
         {{"path",
           (dir_ / "c.safetensors")
               .string()}}}}.dump();
    return run("train " + spec.string() + " --gpus " + gpus);
  }

  fs::path dir_;
};

TEST_F(GpusCli, TrainGivenNoGpuTrainsOnTheCpuAndSaysWhy) {
  if (!fs::exists(digits_path())) GTEST_SKIP() << digits_path() << " missing";
  const CliResult r = train("none");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("device: cpu, 1 threads (this task was given no GPU"), std::string::npos)
      << r.out;
}

TEST_F(GpusCli, AGpuTheHostLacksIsRefusedNamingIt) {
  if (!fs::exists(digits_path())) GTEST_SKIP() << digits_path() << " missing";
  const int have = ringmaster::ops::cuda_device_count();
  const std::string missing = std::to_string(have);  // one past the last ordinal
  const std::string finds = "the CUDA runtime finds " + std::to_string(have) + " device(s)";

  CliResult r = train(missing);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("this task was given GPU " + missing + " but " + finds), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "c.safetensors"));

  // The worker and the local cluster refuse before they connect or start.
  r = run("worker --coordinator tcp://127.0.0.1:9 --metrics-port 0 --gpus " + missing);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("--gpus names GPU " + missing + " but " + finds), std::string::npos)
      << r.err;
  r = run("up --port 0 --zmq-port 0 --state-dir " + (dir_ / "up").string() + " --gpus " + missing);
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("--gpus names GPU " + missing + " but " + finds),
            std::string::npos)
      << r.out << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "up" / "coordinator.log"));
}

TEST_F(GpusCli, AListThatIsNotOrdinalsIsAUsageError) {
  for (const char* cmd : {"worker --metrics-port 0 --gpus 0,x", "train spec.json --gpus=-1"}) {
    const CliResult r = run(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd << r.out << r.err;
    EXPECT_NE(r.err.find("is not a GPU ordinal"), std::string::npos) << cmd << r.err;
  }
}

}  // namespace
