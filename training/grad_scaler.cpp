// GradScaler (see grad_scaler.h): the seed, the unscale-and-check through
// ops::unscale_grads (one flag read back per device), and the scale update.
#include "training/grad_scaler.h"

#include <cmath>
#include <vector>

#include "ops/check.h"
#include "ops/optimizer_update.h"

namespace ringmaster::training {

GradScaler::GradScaler(GradScalerOptions o) : options_(o), scale_(o.init_scale) {
  RM_THROW_IF(!(o.init_scale > 0), "grad scaler: init_scale must be > 0, got ", o.init_scale);
  RM_THROW_IF(!(o.growth_factor > 1), "grad scaler: growth_factor must be > 1, got ",
              o.growth_factor);
  RM_THROW_IF(!(o.backoff_factor > 0 && o.backoff_factor < 1),
              "grad scaler: backoff_factor must be in (0, 1), got ", o.backoff_factor);
  RM_THROW_IF(o.growth_interval < 1, "grad scaler: growth_interval must be >= 1, got ",
              o.growth_interval);
}

void GradScaler::backward(const ops::Tensor& loss, double factor) const {
  RM_CHECK(loss.numel() == 1, "GradScaler::backward needs a scalar loss, got ",
           ops::to_string(loss));
  loss.backward(ops::Tensor::full(loss.shape(), static_cast<float>(scale_ * factor)));
}

bool GradScaler::step(Optimizer& opt, const std::function<void()>& after_unscale) {
  const bool overflow = ops::unscale_grads(opt.plain_grads(), static_cast<float>(1.0 / scale_));
  if (overflow) {
    ++skipped_;
    good_in_a_row_ = 0;
    scale_ *= options_.backoff_factor;
    return false;
  }
  if (after_unscale) after_unscale();
  opt.step();
  if (++good_in_a_row_ >= options_.growth_interval) {
    scale_ *= options_.growth_factor;
    good_in_a_row_ = 0;
  }
  return true;
}

void GradScaler::restore(double scale, int64_t good_steps_in_a_row, int64_t skipped_steps) {
  RM_THROW_IF(
      !(scale > 0.0) || !std::isfinite(scale) || good_steps_in_a_row < 0 || skipped_steps < 0,
      "loss scaler state out of range: scale ", scale, ", good steps ", good_steps_in_a_row,
      ", skipped ", skipped_steps);
  scale_ = scale;
  good_in_a_row_ = good_steps_in_a_row;
  skipped_ = skipped_steps;
}

}  // namespace ringmaster::training
