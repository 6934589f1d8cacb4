// Learning-rate schedules as pure functions of training progress: constant,
// step, multistep, exponential and cosine, each optionally preceded by a
// linear warmup. Built from a job spec's JSON. It only computes numbers:
// the caller feeds lr_at() to Optimizer::set_lr every step.
// Immutable after construction, so thread-safe; nothing blocks.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ringmaster::training {

struct LrScheduleConfig {
  enum class Type { constant, step, multistep, exponential, cosine };
  Type type = Type::constant;
  double base_lr = 0.1;
  double gamma = 0.1;                // step, multistep, exponential
  int64_t step_size = 1;             // step: epochs between decays
  std::vector<int64_t> milestones;   // multistep: strictly increasing epochs
  double t_max = 1;                  // cosine: epochs from base_lr down to eta_min
  double eta_min = 0;                // cosine
  double warmup_epochs = 0;          // 0: no warmup
  double warmup_start_factor = 0.1;  // warmup starts at this fraction of base_lr
};

// Timing. Progress is t = epoch + step_in_epoch / steps_per_epoch (epochs).
// Warmup (t < W = warmup_epochs): lr = base * (f + (1 - f) * t / W), linear
// per step from f * base to base. After it the schedule runs on the epochs
// since warmup ended, u = t - W (as torch's SequentialLR hands over):
//   constant:    base
//   step:        base * gamma^floor(floor(u) / step_size)
//   multistep:   base * gamma^(number of milestones <= floor(u))
//   exponential: base * gamma^floor(u)
//   cosine:      eta_min + (base - eta_min) * (1 + cos(pi * min(u, t_max) / t_max)) / 2,
//                smooth per step, then eta_min once u >= t_max.
// Step, multistep and exponential change only at epoch boundaries, as their
// PyTorch schedulers stepped once per epoch do.
class LrSchedule {
 public:
  explicit LrSchedule(LrScheduleConfig config);  // bad values throw ops::Error

  // From a spec such as {"type": "cosine", "t_max": 30, "eta_min": 1e-4,
  // "warmup_epochs": 2, "warmup_start_factor": 0.01}; the field names are
  // those of LrScheduleConfig (but "base_lr" comes from the optimizer, the
  // argument). A missing, mistyped, out-of-range or unknown field throws
  // ops::Error naming it.
  static LrSchedule from_json(const nlohmann::json& spec, double base_lr);

  // steps_per_epoch > 0 and 0 <= step_in_epoch < steps_per_epoch (checked).
  double lr_at(int64_t epoch, int64_t step_in_epoch, int64_t steps_per_epoch) const;
  const LrScheduleConfig& config() const { return config_; }

 private:
  LrScheduleConfig config_;
};

}  // namespace ringmaster::training
