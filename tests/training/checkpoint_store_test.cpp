// CheckpointStore on real files: a checkpoint round-trips, only the newest
// `keep` stay, and whatever an interrupted write, a removal or the disk left
// behind (no manifest, a truncated or corrupted file, a leftover temporary
// folder) is skipped with a line naming why, never loaded; a temporary folder
// of a writer still running is left alone.
#include "training/checkpoint_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ops/check.h"
#include "tests/test_dir.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

models::TensorMap tensors(float v) {
  models::TensorMap m;
  m.emplace("w", ops::Tensor::full({3, 5}, v));
  m.emplace("b", ops::Tensor::full({7}, -v));
  return m;
}

class CheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing_support::fresh_test_dir("checkpoint_store"); }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes checkpoints at these steps, each with its step in every tensor.
  void write(CheckpointStore& s, std::initializer_list<int64_t> steps) {
    for (int64_t step : steps)
      s.write(step, tensors(static_cast<float>(step)), tensors(0.5f), {{"step", step}});
  }
  std::optional<StoredCheckpoint> newest(const CheckpointStore& s) {
    log_.clear();
    return s.newest([&](const std::string& line) { log_ += line + "\n"; });
  }
  fs::path folder(int64_t step) const {
    char name[32];
    std::snprintf(name, sizeof name, "step-%012lld", static_cast<long long>(step));
    return dir_ / name;
  }

  fs::path dir_;
  std::string log_;
};

TEST_F(CheckpointStoreTest, RoundTripsTheNewestAndKeepsOnlyK) {
  CheckpointStore s(dir_.string(), 2);
  EXPECT_FALSE(newest(s).has_value());
  write(s, {5, 10, 15});
  const auto c = newest(s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->step, 15);
  EXPECT_EQ(c->folder, folder(15).string());
  EXPECT_EQ(c->model.at("w").to_vector()[0], 15.0f);
  EXPECT_EQ(c->model.at("b").dim(0), 7);
  EXPECT_EQ(c->optimizer.at("w").to_vector()[0], 0.5f);
  EXPECT_EQ(c->state["step"], 15);
  EXPECT_FALSE(fs::exists(folder(5)));
  EXPECT_TRUE(fs::exists(folder(10)));
  EXPECT_EQ(s.load(10).model.at("w").to_vector()[0], 10.0f);
  EXPECT_EQ(s.newest([](const std::string&) {}, 12)->step, 10);  // at most step 12
  EXPECT_TRUE(log_.empty()) << log_;
}

TEST_F(CheckpointStoreTest, WhatAWriteOrTheDiskLeftHalfDoneIsSkippedNamingWhy) {
  CheckpointStore s(dir_.string(), 10);
  write(s, {1, 2, 3, 4, 5});
  // 5: a corrupted byte; 4: truncated; 3: no manifest (a removal stopped
  // half way); 2: its state file gone. 1 is whole.
  {
    std::fstream f(folder(5) / "optimizer.safetensors",
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  fs::resize_file(folder(4) / "model.safetensors",
                  fs::file_size(folder(4) / "model.safetensors") - 8);
  fs::remove(folder(3) / "manifest.json");
  fs::remove(folder(2) / "state.json");
  // An interrupted write: a temporary folder with everything but its rename,
  // of a process that is gone; and one another live process is writing.
  const pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_EQ(waitpid(gone, nullptr, 0), gone);
  const fs::path leftover = dir_ / (".tmp-step-000000000009-" + std::to_string(gone));
  const fs::path in_progress = dir_ / (".tmp-step-000000000009-" + std::to_string(getppid()));
  fs::copy(folder(1), leftover);
  fs::copy(folder(1), in_progress);
  const auto c = newest(s);
  ASSERT_TRUE(c.has_value()) << log_;
  EXPECT_EQ(c->step, 1);
  for (const std::string& why :
       {folder(5).string() + " skipped: optimizer.safetensors does not match its CRC-32",
        folder(4).string() + " skipped: model.safetensors has ",
        folder(3).string() + " skipped: no manifest.json",
        folder(2).string() + " skipped: state.json is missing"})
    EXPECT_NE(log_.find("checkpoint " + why), std::string::npos) << why << "\n" << log_;
  try {
    s.load(5);
    ADD_FAILURE() << "a corrupted checkpoint loaded";
  } catch (const ops::Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot be loaded: optimizer.safetensors does not match"),
              std::string::npos)
        << e.what();
  }
  // The next write clears the leftover, not the live writer's folder, and
  // replaces nothing whole.
  write(s, {6});
  EXPECT_FALSE(fs::exists(leftover));
  EXPECT_TRUE(fs::exists(in_progress));
  EXPECT_EQ(newest(s)->step, 6);
}

TEST_F(CheckpointStoreTest, AManifestOfAnotherStepOrFormatIsNotTrusted) {
  CheckpointStore s(dir_.string(), 10);
  write(s, {7, 8});
  fs::copy_file(folder(7) / "manifest.json", folder(8) / "manifest.json",
                fs::copy_options::overwrite_existing);
  auto c = newest(s);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->step, 7);
  EXPECT_NE(log_.find("manifest.json names step 7, the folder step 8"), std::string::npos) << log_;
  std::ofstream(folder(7) / "manifest.json") << "{\"format\": \"something-else\"}";
  EXPECT_FALSE(newest(s).has_value());
  EXPECT_NE(log_.find("is not a ringmaster-checkpoint-v2 manifest"), std::string::npos) << log_;
  // Nested past any stack (parsed with a depth bound) or with a key twice.
  for (const std::string& hostile :
       {std::string(1000000, '['), std::string(R"({"format": "a", "format": "b"})")}) {
    std::ofstream(folder(7) / "manifest.json", std::ios::trunc) << hostile;
    EXPECT_FALSE(newest(s).has_value());
    EXPECT_NE(log_.find("is not a ringmaster-checkpoint-v2 manifest"), std::string::npos) << log_;
  }
}

}  // namespace
}  // namespace ringmaster::training
