// LR schedules (see lr_schedule.h): validation, JSON parsing and the
// closed-form learning rate at a point in training.
#include "training/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "ops/check.h"
#include "training/json_fields.h"

namespace ringmaster::training {

LrSchedule::LrSchedule(LrScheduleConfig config) : config_(std::move(config)) {
  using Type = LrScheduleConfig::Type;
  const LrScheduleConfig& c = config_;
  RM_THROW_IF(!(c.base_lr >= 0), "lr_schedule: base_lr must be >= 0, got ", c.base_lr);
  RM_THROW_IF(!(c.warmup_epochs >= 0), "lr_schedule: warmup_epochs must be >= 0, got ",
              c.warmup_epochs);
  RM_THROW_IF(!(c.warmup_start_factor >= 0 && c.warmup_start_factor <= 1),
              "lr_schedule: warmup_start_factor must be in [0, 1], got ", c.warmup_start_factor);
  if (c.type == Type::step || c.type == Type::multistep || c.type == Type::exponential)
    RM_THROW_IF(!(c.gamma > 0), "lr_schedule: gamma must be > 0, got ", c.gamma);
  if (c.type == Type::step)
    RM_THROW_IF(c.step_size <= 0, "lr_schedule: step_size must be > 0, got ", c.step_size);
  if (c.type == Type::multistep) {
    RM_THROW_IF(c.milestones.empty(), "lr_schedule: milestones must not be empty");
    for (size_t i = 0; i < c.milestones.size(); ++i) {
      RM_THROW_IF(c.milestones[i] <= 0 || (i > 0 && c.milestones[i] <= c.milestones[i - 1]),
                  "lr_schedule: milestones must be positive and strictly increasing");
    }
  }
  if (c.type == Type::cosine) {
    RM_THROW_IF(!(c.t_max > 0), "lr_schedule: t_max must be > 0, got ", c.t_max);
    RM_THROW_IF(!(c.eta_min >= 0), "lr_schedule: eta_min must be >= 0, got ", c.eta_min);
  }
}

LrSchedule LrSchedule::from_json(const nlohmann::json& spec, double base_lr) {
  using Type = LrScheduleConfig::Type;
  detail::JsonFields f(spec, "lr_schedule");
  LrScheduleConfig c;
  c.base_lr = base_lr;
  const std::string type = f.string("type");
  if (type == "constant") {
    c.type = Type::constant;
  } else if (type == "step") {
    c.type = Type::step;
    c.step_size = f.integer("step_size");
    c.gamma = f.number("gamma", c.gamma);
    if (c.step_size <= 0) f.fail("step_size", "must be > 0");
  } else if (type == "multistep") {
    c.type = Type::multistep;
    c.milestones = f.integers("milestones");
    c.gamma = f.number("gamma", c.gamma);
    if (c.milestones.empty()) f.fail("milestones", "must not be empty");
    for (size_t i = 0; i < c.milestones.size(); ++i)
      if (c.milestones[i] <= 0 || (i > 0 && c.milestones[i] <= c.milestones[i - 1]))
        f.fail("milestones", "must be positive and strictly increasing");
  } else if (type == "exponential") {
    c.type = Type::exponential;
    c.gamma = f.number("gamma");
  } else if (type == "cosine") {
    c.type = Type::cosine;
    c.t_max = f.number("t_max");
    c.eta_min = f.number("eta_min", c.eta_min);
    if (!(c.t_max > 0)) f.fail("t_max", "must be > 0");
    if (!(c.eta_min >= 0)) f.fail("eta_min", "must be >= 0");
  } else {
    f.fail("type",
           "must be one of constant, step, multistep, exponential, cosine; got '" + type + "'");
  }
  if (c.type != Type::constant && c.type != Type::cosine && !(c.gamma > 0))
    f.fail("gamma", "must be > 0");
  c.warmup_epochs = f.number("warmup_epochs", c.warmup_epochs);
  c.warmup_start_factor = f.number("warmup_start_factor", c.warmup_start_factor);
  if (!(c.warmup_epochs >= 0)) f.fail("warmup_epochs", "must be >= 0");
  if (!(c.warmup_start_factor >= 0 && c.warmup_start_factor <= 1))
    f.fail("warmup_start_factor", "must be in [0, 1]");
  f.finish();
  return LrSchedule(std::move(c));
}

double LrSchedule::lr_at(int64_t epoch, int64_t step_in_epoch, int64_t steps_per_epoch) const {
  RM_CHECK(
      steps_per_epoch > 0 && step_in_epoch >= 0 && step_in_epoch < steps_per_epoch && epoch >= 0,
      "lr_at(epoch ", epoch, ", step ", step_in_epoch, ", steps per epoch ", steps_per_epoch, ")");
  using Type = LrScheduleConfig::Type;
  const LrScheduleConfig& c = config_;
  const double t = static_cast<double>(epoch) +
                   static_cast<double>(step_in_epoch) / static_cast<double>(steps_per_epoch);
  if (t < c.warmup_epochs) {
    const double f = c.warmup_start_factor;
    return c.base_lr * (f + (1.0 - f) * t / c.warmup_epochs);
  }
  const double u = t - c.warmup_epochs;
  // Whole epochs since warmup; the epsilon absorbs rounding of fractional
  // warmups so that u = 2.9999999 still counts as epoch 3 when it should.
  const auto whole = static_cast<int64_t>(std::floor(u + 1e-9));
  switch (c.type) {
    case Type::constant:
      return c.base_lr;
    case Type::step:
      return c.base_lr * std::pow(c.gamma, static_cast<double>(whole / c.step_size));
    case Type::multistep: {
      const auto passed =
          std::upper_bound(c.milestones.begin(), c.milestones.end(), whole) - c.milestones.begin();
      return c.base_lr * std::pow(c.gamma, static_cast<double>(passed));
    }
    case Type::exponential:
      return c.base_lr * std::pow(c.gamma, static_cast<double>(whole));
    case Type::cosine: {
      const double x = std::min(u, c.t_max) / c.t_max;
      return c.eta_min + (c.base_lr - c.eta_min) * (1.0 + std::cos(std::numbers::pi * x)) / 2.0;
    }
  }
  return c.base_lr;
}

}  // namespace ringmaster::training
