// Exact resume as a user meets it: `ringmaster train` with periodic
// checkpoints, SIGKILLed at a random step, then `ringmaster train --resume`,
// ends with the same bytes in its final weights and optimizer state as the
// run that was never interrupted (same spec, same thread count), for a
// network with dropout trained on augmented data, and for both detectors
// (their sampled anchors and RoIs). A damaged newest checkpoint is skipped,
// naming why, and the one before it used.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/cli/run_cli.h"
#include "tests/detection_specs.h"
#include "tests/integration/process.h"
#include "tests/test_dir.h"

namespace {

namespace fs = std::filesystem;
using ringmaster::testing_support::CliResult;
using ringmaster::testing_support::Process;
using ringmaster::testing_support::slurp;

constexpr int64_t kEverySteps = 5;
constexpr int64_t kTotalSteps = 6 * 41;  // 6 epochs of 1,293 training digits, batches of 32

std::string digits_path() { return std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz"; }

uint64_t test_seed() {
  if (const char* s = std::getenv("RM_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

class ResumeCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(digits_path())) GTEST_SKIP() << digits_path() << " missing";
    dir_ = ringmaster::testing_support::fresh_test_dir("resume_cli");
    spec_ = (dir_ / "spec.json").string();
    std::ofstream(spec_) << nlohmann::json{
        {"name", "resume"},
        {"model", {{"name", "deep_convnet"}, {"dropout", 0.3}}},
        {"data",
         {{"dataset", "digits"},
          {"path", digits_path()},
          {"augment",
           {{{"type", "translate"}, {"pixels", 1}}, {{"type", "cutout"}, {"size", 2}}}}}},
        {"train", {{"epochs", 6}, {"batch_size", 32}, {"seed", 11}, {"threads", 2}}},
        {"checkpoint",
         {{"path", (dir_ / "run" / "final.safetensors").string()},
          {"every_steps", kEverySteps},
          {"keep", 3}}}}.dump();
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  fs::path final_weights() const { return dir_ / "run" / "final.safetensors"; }
  fs::path final_optimizer() const { return dir_ / "run" / "final.optimizer.safetensors"; }
  fs::path checkpoints() const { return dir_ / "run" / "checkpoints"; }

  // The uninterrupted run's final bytes; then the run folder is emptied.
  std::pair<std::string, std::string> uninterrupted() {
    const CliResult r = ringmaster::testing_support::run_ringmaster("train " + spec_, dir_, 300);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::pair<std::string, std::string> bytes{slurp(final_weights()), slurp(final_optimizer())};
    fs::remove_all(dir_ / "run");
    return bytes;
  }

  // Starts the run and SIGKILLs it once checkpoint `target` (or a later one)
  // exists, after a further random pause. Returns the newest step it left.
  void kill_after(int64_t target, std::mt19937_64& rng) {
    Process p({"train", spec_}, (dir_ / "killed.log").string());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
    bool reached = false;
    while (!reached && std::chrono::steady_clock::now() < deadline &&
           !p.wait(std::chrono::milliseconds(0))) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(checkpoints(), ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("step-", 0) == 0 && std::stoll(name.substr(5)) >= target) reached = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(reached) << "checkpoint " << target << " never appeared:\n" << p.output();
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 30000));
    p.signal(SIGKILL);
    ASSERT_TRUE(p.wait(std::chrono::seconds(10)));
    ASSERT_EQ(p.exit_code(), 128 + SIGKILL) << "it finished before the kill:\n" << p.output();
    ASSERT_FALSE(fs::exists(final_weights()));
  }

  fs::path dir_;
  std::string spec_;
};

TEST_F(ResumeCli, AKilledRunResumedEndsWithTheUninterruptedBytes) {
  const uint64_t seed = test_seed();
  std::mt19937_64 rng(seed);
  const int64_t target = kEverySteps + static_cast<int64_t>(rng() % (kTotalSteps * 3 / 4));
  SCOPED_TRACE("RM_TEST_SEED=" + std::to_string(seed) + ": killed after step " +
               std::to_string(target));
  const auto [weights, optimizer] = uninterrupted();
  ASSERT_FALSE(weights.empty());

  kill_after(target, rng);
  const CliResult r =
      ringmaster::testing_support::run_ringmaster("train " + spec_ + " --resume", dir_, 300);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("resume: from " + checkpoints().string() + "/step-"), std::string::npos)
      << r.out;
  EXPECT_TRUE(slurp(final_weights()) == weights)
      << "final weights differ from the uninterrupted run's";
  EXPECT_TRUE(slurp(final_optimizer()) == optimizer) << "optimizer state differs";
}

TEST_F(ResumeCli, ADamagedNewestCheckpointIsSkippedAndTheOneBeforeUsed) {
  const uint64_t seed = test_seed();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("RM_TEST_SEED=" + std::to_string(seed));
  const auto [weights, optimizer] = uninterrupted();
  kill_after(kTotalSteps / 2, rng);

  // Flip one byte in the middle of the newest whole checkpoint's weights.
  fs::path newest;
  for (const auto& e : fs::directory_iterator(checkpoints()))
    if (fs::exists(e.path() / "manifest.json") && e.path().filename() > newest.filename())
      newest = e.path();
  ASSERT_FALSE(newest.empty());
  {
    std::fstream f(newest / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<std::streamoff>(fs::file_size(newest / "model.safetensors"));
    f.seekg(size / 2);
    const char c = static_cast<char>(f.get() ^ 0x10);
    f.seekp(size / 2);
    f.put(c);
  }
  const CliResult r =
      ringmaster::testing_support::run_ringmaster("train " + spec_ + " --resume", dir_, 300);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("checkpoint " + newest.string() +
                       " skipped: model.safetensors does not match its CRC-32"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("resume: from " + checkpoints().string() + "/step-"), std::string::npos);
  EXPECT_EQ(r.out.find("resume: from " + newest.string()), std::string::npos) << r.out;
  EXPECT_TRUE(slurp(final_weights()) == weights);
  EXPECT_TRUE(slurp(final_optimizer()) == optimizer);
}

TEST_F(ResumeCli, ResumeWithoutACheckpointStartsFromTheBeginning) {
  const auto [weights, optimizer] = uninterrupted();
  const CliResult r =
      ringmaster::testing_support::run_ringmaster("train " + spec_ + " --resume", dir_, 300);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("resume: no whole checkpoint in " + checkpoints().string() +
                       "; starting from the beginning"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(slurp(final_weights()) == weights);
}

// The detectors draw anchors and RoIs at random in every step: resumed from
// a checkpoint in the middle of an epoch, they draw what the uninterrupted
// run drew, and end with its bytes.
TEST_F(ResumeCli, ADetectorResumedMidEpochEndsWithTheUninterruptedBytes) {
  const char* fashion = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
  if (!fs::exists(fashion)) GTEST_SKIP() << fashion << " missing: run scripts/install-deps.sh";
  const nlohmann::json small_resnet = {{"name", "resnet"}, {"depth", 8}, {"width", 8}};
  const std::vector<nlohmann::json> models = {
      ringmaster::testing_support::small_faster_rcnn(),
      {{"name", "rcnn"}, {"classifier", small_resnet}, {"box_batch_size_per_image", 16}}};
  for (const nlohmann::json& model : models) {
    SCOPED_TRACE(model["name"].get<std::string>());
    std::ofstream(spec_) << nlohmann::json{
        {"name", "resume-detector"},
        {"model", model},
        {"data",
         {{"dataset", "fashion-composites"},
          {"targets", "boxes"},
          {"composites", {{"size", 56}, {"train", 40}, {"test", 8}, {"max_items", 3}}},
          {"augment", {{{"type", "hflip"}}}}}},
        {"train", {{"epochs", 2}, {"batch_size", 8}, {"seed", 4}, {"threads", 2}}},
        {"optimizer", {{"name", "sgd"}, {"lr", 0.01}, {"momentum", 0.9}}},
        {"checkpoint",
         {{"path", (dir_ / "run" / "final.safetensors").string()},
          {"every_steps", 3},
          {"keep", 5}}}}.dump();
    const CliResult whole =
        ringmaster::testing_support::run_ringmaster("train " + spec_, dir_, 300);
    ASSERT_EQ(whole.exit_code, 0) << whole.out << whole.err;
    const std::string weights = slurp(final_weights()), optimizer = slurp(final_optimizer());
    ASSERT_FALSE(weights.empty());
    // As if killed after step 3 (of 5 per epoch): every later file removed.
    fs::remove(final_weights());
    fs::remove(final_optimizer());
    for (const auto& e : fs::directory_iterator(checkpoints()))
      if (e.path().filename() != "step-000000000003") fs::remove_all(e.path());
    ASSERT_TRUE(fs::exists(checkpoints() / "step-000000000003")) << whole.out;
    ASSERT_TRUE(fs::exists(checkpoints() / "step-000000000003" / "manifest.json")) << whole.out;

    const CliResult r =
        ringmaster::testing_support::run_ringmaster("train " + spec_ + " --resume", dir_, 300);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("resume: from " + (checkpoints() / "step-000000000003").string()),
              std::string::npos)
        << r.out;
    EXPECT_TRUE(slurp(final_weights()) == weights)
        << "final weights differ from the uninterrupted run's";
    EXPECT_TRUE(slurp(final_optimizer()) == optimizer) << "optimizer state differs";
    fs::remove_all(dir_ / "run");
  }
}

}  // namespace
