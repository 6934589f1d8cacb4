// LR schedules at chosen epochs and steps, against the formulas in
// lr_schedule.h, and the JSON errors that name the bad field.
#include "training/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

#include "ops/check.h"

namespace ringmaster::training {
namespace {

LrSchedule parse(const char* text, double base = 0.1) {
  return LrSchedule::from_json(nlohmann::json::parse(text), base);
}

TEST(LrSchedule, Constant) {
  LrSchedule s = parse(R"({"type":"constant"})");
  EXPECT_DOUBLE_EQ(s.lr_at(0, 0, 10), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(99, 9, 10), 0.1);
}

TEST(LrSchedule, Step) {
  LrSchedule s = parse(R"({"type":"step","step_size":3,"gamma":0.5})");
  EXPECT_DOUBLE_EQ(s.lr_at(0, 0, 10), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(2, 9, 10), 0.1);
  EXPECT_DOUBLE_EQ(s.lr_at(3, 0, 10), 0.05);
  EXPECT_DOUBLE_EQ(s.lr_at(6, 5, 10), 0.025);
}

TEST(LrSchedule, Multistep) {
  LrSchedule s = parse(R"({"type":"multistep","milestones":[2,5],"gamma":0.1})");
  EXPECT_DOUBLE_EQ(s.lr_at(1, 99, 100), 0.1);
  EXPECT_NEAR(s.lr_at(2, 0, 100), 0.01, 1e-15);
  EXPECT_NEAR(s.lr_at(4, 0, 100), 0.01, 1e-15);
  EXPECT_NEAR(s.lr_at(5, 0, 100), 0.001, 1e-15);
  EXPECT_NEAR(s.lr_at(50, 0, 100), 0.001, 1e-15);
}

TEST(LrSchedule, Exponential) {
  LrSchedule s = parse(R"({"type":"exponential","gamma":0.9})");
  EXPECT_DOUBLE_EQ(s.lr_at(0, 3, 4), 0.1);
  EXPECT_NEAR(s.lr_at(3, 2, 4), 0.1 * 0.9 * 0.9 * 0.9, 1e-15);
}

TEST(LrSchedule, CosineIsSmoothPerStep) {
  LrSchedule s = parse(R"({"type":"cosine","t_max":10,"eta_min":0.001})");
  auto want = [](double t) {
    return 0.001 + (0.1 - 0.001) * (1 + std::cos(std::numbers::pi * t / 10)) / 2;
  };
  EXPECT_DOUBLE_EQ(s.lr_at(0, 0, 4), 0.1);
  EXPECT_NEAR(s.lr_at(2, 1, 4), want(2.25), 1e-15);
  EXPECT_NEAR(s.lr_at(5, 0, 4), want(5.0), 1e-15);
  EXPECT_NEAR(s.lr_at(5, 0, 4), (0.1 + 0.001) / 2, 1e-15);
  EXPECT_LT(s.lr_at(5, 1, 4), s.lr_at(5, 0, 4));
  EXPECT_NEAR(s.lr_at(10, 0, 4), 0.001, 1e-15);
  EXPECT_NEAR(s.lr_at(12, 3, 4), 0.001, 1e-15);  // stays at eta_min after t_max
}

TEST(LrSchedule, LinearWarmupThenSchedule) {
  LrSchedule s = parse(
      R"({"type":"step","step_size":2,"gamma":0.1,"warmup_epochs":2,"warmup_start_factor":0.2})");
  // Warmup: 0.1 * (0.2 + 0.8 * t / 2), per step.
  EXPECT_NEAR(s.lr_at(0, 0, 4), 0.02, 1e-15);
  EXPECT_NEAR(s.lr_at(0, 2, 4), 0.1 * (0.2 + 0.8 * 0.25), 1e-15);
  EXPECT_NEAR(s.lr_at(1, 2, 4), 0.1 * (0.2 + 0.8 * 0.75), 1e-15);
  // After warmup the step schedule counts epochs from its end.
  EXPECT_NEAR(s.lr_at(2, 0, 4), 0.1, 1e-15);
  EXPECT_NEAR(s.lr_at(3, 3, 4), 0.1, 1e-15);
  EXPECT_NEAR(s.lr_at(4, 0, 4), 0.01, 1e-15);
}

TEST(LrSchedule, CosineWithWarmup) {
  LrSchedule s = parse(R"({"type":"cosine","t_max":4,"warmup_epochs":1,"warmup_start_factor":0})");
  EXPECT_DOUBLE_EQ(s.lr_at(0, 0, 2), 0.0);
  EXPECT_NEAR(s.lr_at(0, 1, 2), 0.05, 1e-15);
  EXPECT_NEAR(s.lr_at(1, 0, 2), 0.1, 1e-15);
  EXPECT_NEAR(s.lr_at(3, 0, 2), 0.05, 1e-15);  // u = 2 of t_max 4
  EXPECT_NEAR(s.lr_at(5, 0, 2), 0.0, 1e-15);
}

std::string error_of(const char* text) {
  try {
    parse(text);
  } catch (const ops::Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(LrSchedule, JsonErrorsNameTheField) {
  EXPECT_NE(error_of(R"({"type":"step"})").find("'step_size' is required"), std::string::npos);
  EXPECT_NE(error_of(R"({"type":"step","step_size":0})").find("'step_size'"), std::string::npos);
  EXPECT_NE(error_of(R"({"type":"step","step_size":1.5})").find("'step_size' must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type":"multistep","milestones":[5,2]})").find("'milestones'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type":"cosine","t_max":"ten"})").find("'t_max' must be a number"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type":"cosine","t_max":10,"etamin":0})").find("'etamin'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type":"linear"})").find("'type'"), std::string::npos);
  EXPECT_NE(
      error_of(R"({"type":"constant","warmup_start_factor":2})").find("'warmup_start_factor'"),
      std::string::npos);
  EXPECT_NE(error_of(R"([1,2])").find("lr_schedule"), std::string::npos);
}

}  // namespace
}  // namespace ringmaster::training
