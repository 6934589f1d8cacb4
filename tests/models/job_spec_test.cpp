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
  auto ps = problems_of({{"lr_schedule", {{"name", "sawtooth"}}}});
  ASSERT_FALSE(ps.empty());
  EXPECT_EQ(ps[0].pointer.rfind("/lr_schedule", 0), 0u) << ps[0].pointer;
}

TEST(JobSpec, ResourcesAndPriorityHaveDefaultsAndBounds) {
  JobSpec d = parse_job_spec(nlohmann::json::object());
  EXPECT_EQ(d.resources.workers, 1);
  EXPECT_EQ(d.resources.cores, 1);
  EXPECT_EQ(d.resources.gpus, 0);
  EXPECT_EQ(d.priority, 0);

  JobSpec s = parse_job_spec({{"resources", {{"workers", 1}, {"cores", 4}, {"gpus", 2}}},
                              {"priority", 7}});
  EXPECT_EQ(s.resources.cores, 4);
  EXPECT_EQ(s.resources.gpus, 2);
  EXPECT_EQ(s.priority, 7);

  auto ps = problems_of({{"resources", {{"cores", -1}, {"gpus", 1000}, {"ram", 1}}},
                         {"priority", "high"}});
  EXPECT_TRUE(has_problem(ps, "/resources/cores", "must be >= 1"));
  EXPECT_TRUE(has_problem(ps, "/resources/gpus", "must be <= 64"));
  EXPECT_TRUE(has_problem(ps, "/resources/ram", "unknown field"));
  EXPECT_TRUE(has_problem(ps, "/priority", "must be an integer"));
}

TEST(JobSpec, MoreThanOneWorkerIsRejectedUntilDataParallelExists) {
  auto ps = problems_of({{"resources", {{"workers", 2}}}});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].pointer, "/resources/workers");
  EXPECT_NE(ps[0].reason.find("data-parallel training is not available yet"), std::string::npos);
}

TEST(JobSpec, MissingFileIsASpecError) {
  EXPECT_THROW(load_job_spec("/nonexistent/spec.json"), SpecError);
}

}  // namespace
}  // namespace ringmaster::models
