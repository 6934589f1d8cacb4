// Progress reports and results: every field survives the round trip through
// JSON; a field that is absent or of the wrong type reads as empty, never as
// an error.
#include "comm/progress_report.h"

#include <gtest/gtest.h>

#include <cstdio>

namespace ringmaster::comm {
namespace {

TEST(ProgressReport, StepReportRoundTrips) {
  StepReport r;
  r.epoch = 2;
  r.epochs = 5;
  r.step = 7;
  r.steps_per_epoch = 60;
  r.loss = 0.75;
  r.accuracy = 0.5;
  r.samples_per_second = 1234.5;
  r.eta_seconds = 12.0;
  r.lr = 1e-3;
  r.samples_total = 700;
  r.sample_unit = "seq";
  r.step_seconds = {0.01, 0.02};
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["steps_per_epoch"], 60);
  EXPECT_EQ(j["step_seconds"].size(), 2u);
  const StepReport back = read_step_report(j);
  EXPECT_EQ(back.epoch, 2);
  EXPECT_EQ(back.step, 7);
  EXPECT_EQ(back.loss, 0.75);
  EXPECT_EQ(back.lr, 1e-3);
  EXPECT_EQ(back.samples_total, 700);
  EXPECT_EQ(back.sample_unit, "seq");
  EXPECT_EQ(back.step_seconds, r.step_seconds);
  EXPECT_EQ(to_json(back), j);
}

TEST(ProgressReport, EpochReportRoundTripsAndLeavesOutWhatItLacks) {
  EpochReport r;
  r.epoch = 1;
  r.test_accuracy = 0.9;
  r.trained = false;
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j, nlohmann::json({{"epoch", 1}, {"test_accuracy", 0.9}, {"trained", false}}));
  const EpochReport back = read_epoch_report(j);
  EXPECT_EQ(back.epoch, 1);
  EXPECT_EQ(back.test_accuracy, 0.9);
  EXPECT_EQ(back.trained, false);
  EXPECT_FALSE(back.test_mean_iou.has_value());
  EXPECT_FALSE(back.train_loss.has_value());
}

TEST(ProgressReport, WrongTypesAndNonObjectsReadAsEmpty) {
  const StepReport s = read_step_report(
      {{"loss", "garbage"}, {"epoch", 1.5}, {"step_seconds", {0.5, "x", 0.25}}, {"lr", 0.1}});
  EXPECT_FALSE(s.loss.has_value());
  EXPECT_FALSE(s.epoch.has_value());  // an epoch is a whole number
  EXPECT_EQ(s.lr, 0.1);
  EXPECT_EQ(s.step_seconds, (std::vector<double>{0.5, 0.25}));
  EXPECT_FALSE(read_step_report(nlohmann::json::array()).loss.has_value());
  EXPECT_FALSE(read_epoch_report("text").epoch.has_value());
  EXPECT_FALSE(read_epoch_report({{"trained", 1}}).trained.has_value());
}

TEST(ProgressReport, ResultReportRoundTripsWithItsSyncSection) {
  ResultReport r;
  r.test_accuracy = 0.772;
  r.epochs = 2;
  r.device = "cpu";
  r.checkpoint = "runs/x/final.safetensors";
  r.world_size = 2;
  r.sync = SyncReport{"allreduce", "none", 10, 20, 4096, 0.5, 0.25, 15};
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["sync"]["bytes_on_wire"], 4096);
  EXPECT_EQ(j["device"], "cpu");
  EXPECT_FALSE(j.contains("test_mean_iou"));
  const ResultReport back = read_result_report(j);
  EXPECT_EQ(back.test_accuracy, 0.772);
  EXPECT_EQ(back.checkpoint, "runs/x/final.safetensors");
  ASSERT_TRUE(back.sync.has_value());
  EXPECT_EQ(back.sync->mode, "allreduce");
  EXPECT_EQ(back.sync->buckets_started_before_backward_end, 15);
  EXPECT_EQ(to_json(back), j);
  // A hostile result neither throws nor invents values.
  const ResultReport bad =
      read_result_report({{"test_accuracy", "high"}, {"device", 3}, {"sync", "fast"}});
  EXPECT_FALSE(bad.test_accuracy.has_value());
  EXPECT_FALSE(bad.device.has_value());
  EXPECT_FALSE(bad.sync.has_value());
}

TEST(ProgressReport, TestFiguresRoundTripAndAreReadBounded) {
  EpochReport r;
  r.test_figures = {{"perplexity", 4.5}, {"bits_per_char", 2.17}};
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["test_figures"]["perplexity"], 4.5);
  EXPECT_EQ(read_epoch_report(j).test_figures, r.test_figures);
  ResultReport res;
  res.test_figures = {{"bleu_4", 0.5}};
  EXPECT_EQ(read_result_report(to_json(res)).test_figures, res.test_figures);
  EXPECT_FALSE(to_json(EpochReport{}).contains("test_figures"));  // none: left out

  // Names outside [a-z0-9_]{1,32}, non-numbers and more than 32 are dropped.
  nlohmann::json hostile = {{"test_figures",
                             {{"ok_1", 1.0},
                              {"Upper", 2.0},
                              {"a b", 3.0},
                              {"", 4.0},
                              {std::string(33, 'x'), 5.0},
                              {"text", "7"},
                              {"nested", {{"a", 1}}}}}};
  EXPECT_EQ(read_epoch_report(hostile).test_figures, (TestFigures{{"ok_1", 1.0}}));
  nlohmann::json many = nlohmann::json::object();
  for (int i = 0; i < 100; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "f%d", 100 + i);
    many[name] = i;
  }
  EXPECT_EQ(read_result_report({{"test_figures", many}}).test_figures.size(), kMaxTestFigures);
  EXPECT_TRUE(read_epoch_report({{"test_figures", 3}}).test_figures.empty());
}

}  // namespace
}  // namespace ringmaster::comm
