// What a resumed run says it trained: a run stopped after a periodic
// checkpoint in the middle of an epoch and resumed counts every training
// sample once, as the run that was never stopped does (before, the samples
// of the resumed epoch before the checkpoint were counted twice, and that
// epoch's images/s divided all its samples by the time since the resume).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>

#include "tests/test_dir.h"
#include "training/job_spec.h"
#include "training/trainer.h"

namespace ringmaster::training {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kImages = 200, kBatch = 20, kEpochs = 3;  // 10 steps an epoch

// Sets `stop` once `at` steps are trained (the run ends after that step).
class StopAtSink : public ProgressSink {
 public:
  StopAtSink(std::atomic<bool>& stop, int64_t at) : stop_(stop), at_(at) {}
  void on_log(const std::string&) override {}
  void on_step(const StepProgress& p) override {
    if (at_ > 0 && p.steps_total >= at_) stop_ = true;
  }
  void on_epoch(const EpochReport& r) override { epochs.push_back(r); }
  std::vector<EpochReport> epochs;

 private:
  std::atomic<bool>& stop_;
  int64_t at_;
};

class ResumeAccounting : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string digits = std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz";
    if (!fs::exists(digits)) GTEST_SKIP() << digits << " missing: run scripts/install-deps.sh";
    dir_ = testing_support::fresh_test_dir("resume_accounting");
    spec_ = parse_job_spec(
        {{"name", "accounting"},
         {"model", {{"name", "mlp"}, {"hidden", {16}}}},
         {"data", {{"dataset", "digits"}, {"path", digits}, {"train_limit", kImages}}},
         {"train", {{"epochs", kEpochs}, {"batch_size", kBatch}, {"seed", 3}, {"threads", 1}}},
         {"checkpoint",
          {{"path", (dir_ / "final.safetensors").string()}, {"every_steps", 4}, {"keep", 5}}}});
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Runs to the end, or stops after step `stop_at` (> 0).
  TrainResult run(bool resume, int64_t stop_at, std::vector<EpochReport>* epochs = nullptr) {
    std::atomic<bool> stop{false};
    StopAtSink sink(stop, stop_at);
    RunOptions o;
    o.cancel = &stop;
    o.resume = resume;
    TrainResult r = run_training(spec_, sink, o);
    if (epochs != nullptr) *epochs = sink.epochs;
    return r;
  }

  fs::path dir_;
  JobSpec spec_;
};

TEST_F(ResumeAccounting, AResumedRunCountsEachSampleOnce) {
  const TrainResult whole = run(false, 0);
  EXPECT_EQ(whole.samples_trained, kEpochs * kImages);
  fs::remove_all(dir_);
  fs::create_directories(dir_);

  const TrainResult stopped = run(false, 15);  // checkpoints at steps 4, 8 and 12
  ASSERT_TRUE(stopped.cancelled);
  EXPECT_EQ(stopped.samples_trained, 15 * kBatch);
  std::vector<EpochReport> epochs;
  const TrainResult resumed = run(true, 0, &epochs);
  ASSERT_FALSE(resumed.cancelled);
  EXPECT_EQ(resumed.resumed_from_step, 12);  // epoch 2, 2 of its steps done
  EXPECT_EQ(resumed.steps, kEpochs * kImages / kBatch);
  EXPECT_EQ(resumed.samples_trained, kEpochs * kImages);
  ASSERT_EQ(epochs.size(), 2u);  // epochs 2 and 3
  for (const EpochReport& e : epochs) {
    EXPECT_GT(e.images_per_second, 0.0);
    EXPECT_GT(e.epoch_seconds, 0.0);
  }
}

}  // namespace
}  // namespace ringmaster::training
