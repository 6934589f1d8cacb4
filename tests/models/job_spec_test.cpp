// Job spec parsing: defaults, every bad field reported by JSON pointer at once.
#include "models/job_spec.h"

#include <gtest/gtest.h>

namespace ringmaster::models {
namespace {

std::vector<SpecProblem> problems_of(const nlohmann::json& j) {
  try {
    parse_job_spec(j);
  } catch (const SpecError& e) {
    return e.problems();
  }
  return {};
}

bool has_problem(const std::vector<SpecProblem>& ps, const std::string& pointer,
                 const std::string& reason_part) {
  for (const auto& p : ps) {
    if (p.pointer == pointer && p.reason.find(reason_part) != std::string::npos) return true;
  }
  return false;
}

TEST(JobSpec, EmptyObjectGivesDefaults) {
  JobSpec s = parse_job_spec(nlohmann::json::object());
  EXPECT_EQ(s.model.name, "deep_convnet");
  EXPECT_EQ(s.data.dataset, "fashion-mnist");
  EXPECT_EQ(s.train.batch_size, 100);
  EXPECT_EQ(s.optimizer.name, "adam");
  EXPECT_EQ(s.checkpoint.path, "runs/job/final.safetensors");
}

TEST(JobSpec, ReadsEveryField) {
  auto j = nlohmann::json::parse(R"({
    "name": "x", "model": {"name": "deep_convnet"},
    "data": {"dataset": "digits", "path": "d.csv.gz", "train_limit": 5, "test_limit": 6, "test_fraction": 0.25},
    "train": {"epochs": 3, "batch_size": 7, "eval_batch_size": 8, "seed": 9, "threads": 2},
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": true, "weight_decay": 0.0005},
    "checkpoint": {"path": "c.safetensors"}})");
  JobSpec s = parse_job_spec(j);
  EXPECT_EQ(s.data.dataset, "digits");
  EXPECT_EQ(s.data.test_fraction_permille, 250);
  EXPECT_EQ(s.train.epochs, 3);
  EXPECT_EQ(s.train.batch_size, 7);
  EXPECT_EQ(s.train.seed, 9u);
  EXPECT_TRUE(s.optimizer.nesterov);
  EXPECT_DOUBLE_EQ(s.optimizer.momentum, 0.9);
  EXPECT_EQ(s.checkpoint.path, "c.safetensors");
}

TEST(JobSpec, ReportsEveryProblemByPointer) {
  auto ps = problems_of(nlohmann::json::parse(R"({
    "bogus": 1,
    "train": {"batch_size": 0, "epochs": "ten", "extra": true},
    "optimizer": {"name": "rmsprop", "lr": -1},
    "model": []})"));
  EXPECT_TRUE(has_problem(ps, "/bogus", "unknown field"));
  EXPECT_TRUE(has_problem(ps, "/train/batch_size", "must be >= 1"));
  EXPECT_TRUE(has_problem(ps, "/train/epochs", "must be an integer"));
  EXPECT_TRUE(has_problem(ps, "/train/extra", "unknown field"));
  EXPECT_TRUE(has_problem(ps, "/optimizer/name", "must be one of"));
  EXPECT_TRUE(has_problem(ps, "/optimizer/lr", "must be > 0"));
  EXPECT_TRUE(has_problem(ps, "/model", "must be an object"));
  EXPECT_EQ(ps.size(), 7u);
}

TEST(JobSpec, NesterovNeedsMomentum) {
  auto ps = problems_of({{"optimizer", {{"name", "sgd"}, {"nesterov", true}}}});
  EXPECT_TRUE(has_problem(ps, "/optimizer/nesterov", "momentum"));
}

TEST(JobSpec, TopLevelMustBeAnObject) {
  auto ps = problems_of(nlohmann::json::array());
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].pointer, "");
}

TEST(JobSpec, BadScheduleIsNamed) {
  auto ps = problems_of({{"lr_schedule", {{"type", "sawtooth"}}}});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].pointer, "/lr_schedule/type");
  EXPECT_NE(ps[0].reason.find("must be one of"), std::string::npos) << ps[0].reason;
  ps = problems_of({{"lr_schedule", {{"type", "cosine"}}}});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].pointer, "/lr_schedule/t_max");
  EXPECT_EQ(ps[0].reason, "is required");
  ps = problems_of({{"lr_schedule", {{"type", "constant"}, {"gama", 0.5}}}});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].pointer, "/lr_schedule/gama");
}

TEST(JobSpec, MissingFileIsASpecError) {
  EXPECT_THROW(load_job_spec("/nonexistent/spec.json"), SpecError);
}

TEST(JobSpec, TrainDevice) {
  EXPECT_EQ(parse_job_spec(nlohmann::json::object()).train.device, "auto");
  for (const char* d : {"auto", "cpu", "cuda"})
    EXPECT_EQ(parse_job_spec({{"train", {{"device", d}}}}).train.device, d);
  auto ps = problems_of({{"train", {{"device", "gpu"}}}});
  EXPECT_TRUE(has_problem(ps, "/train/device", "must be one of auto, cpu, cuda")) << ps.size();
  EXPECT_TRUE(
      has_problem(problems_of({{"train", {{"device", 0}}}}), "/train/device", "must be a string"));
}

TEST(JobSpec, TrainPrecision) {
  EXPECT_EQ(parse_job_spec(nlohmann::json::object()).train.precision, "fp32");
  EXPECT_EQ(parse_job_spec({{"train", {{"precision", "fp16"}}}}).train.precision, "fp16");
  EXPECT_TRUE(has_problem(problems_of({{"train", {{"precision", "bf16"}}}}), "/train/precision",
                          "must be one of fp16, fp32"));
  EXPECT_TRUE(has_problem(problems_of({{"train", {{"precision", "fp16"}, {"device", "cpu"}}}}),
                          "/train/precision", "fp16 needs a GPU"));
}

}  // namespace
}  // namespace ringmaster::models
