// Dynamic loss scaling for mixed-precision (f16) training, with
// torch.cuda.amp.GradScaler's rule: backward() seeds the backward pass with
// scale() instead of 1, so small f16 gradients do not flush to zero; step()
// divides the (f32 master) gradients by the scale and runs the optimizer,
// unless a gradient is inf or NaN (the scale was too large): then the step
// is skipped and the scale multiplied by backoff_factor. After
// growth_interval clean steps in a row the scale grows by growth_factor.
// Works on any device and dtype of loss (it only scales the seed). Not
// thread-safe; step() blocks (it reads the overflow flag back).
#pragma once

#include <cstdint>
#include <functional>

#include "ops/tensor.h"
#include "training/optimizer.h"

namespace ringmaster::training {

struct GradScalerOptions {
  double init_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});  // bad options throw ops::Error

  double scale() const { return scale_; }
  // loss.backward(scale() * factor): the loss is a scalar of any float dtype
  // and device. (`factor`: a data-parallel rank's share of the global batch.)
  void backward(const ops::Tensor& loss, double factor = 1.0) const;
  // Unscales every grad of opt's parameters in place, then steps the
  // optimizer unless one was inf or NaN; updates the scale either way.
  // Returns true when the optimizer stepped.
  // `after_unscale`, when given, runs between the two (gradient clipping).
  bool step(Optimizer& opt, const std::function<void()>& after_unscale = {});

  int64_t skipped_steps() const { return skipped_; }
  int64_t good_steps_in_a_row() const { return good_in_a_row_; }
  // A resumed run's scaler goes on where the checkpoint's stopped. A scale
  // that is not positive and finite, or negative counts, throw ops::Error.
  void restore(double scale, int64_t good_steps_in_a_row, int64_t skipped_steps);

 private:
  GradScalerOptions options_;
  double scale_;
  int64_t skipped_ = 0;
  int64_t good_in_a_row_ = 0;
};

}  // namespace ringmaster::training
