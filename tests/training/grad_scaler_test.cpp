// GradScaler on the CPU (the rule is device-independent): the seed is the
// scale, gradients come back unscaled, an overflow skips the step and backs
// off, clean steps grow the scale after the interval.
#include "training/grad_scaler.h"

#include <gtest/gtest.h>

#include <limits>

#include "ops/check.h"

namespace ringmaster::training {
namespace {

using ops::Tensor;

struct Toy {
  Tensor w = Tensor::from_vector({1.0f, 2.0f}, {2}).set_requires_grad(true);
  NamedTensors params{{"w", w}};
  SGD sgd{params, SGDOptions{.lr = 0.5}};
};

TEST(GradScaler, SeedsBackwardWithTheScaleAndUnscalesBeforeTheStep) {
  Toy s;
  GradScaler scaler({.init_scale = 1024.0});
  // For loss = sum(w * w) / 2, backward seeded with 1024 gives 1024 * w.
  s.w.set_grad(Tensor::from_vector({1024.0f, 2048.0f}, {2}));
  EXPECT_TRUE(scaler.step(s.sgd));
  EXPECT_EQ(s.w.to_vector(), (std::vector<float>{0.5f, 1.0f}));  // w -= 0.5 * w
  EXPECT_EQ(scaler.skipped_steps(), 0);
  EXPECT_EQ(scaler.scale(), 1024.0);
}

TEST(GradScaler, BackwardSeedsTheScale) {
  Tensor x = Tensor::from_vector({3.0f}, {1}).set_requires_grad(true);
  GradScaler scaler({.init_scale = 8.0});
  scaler.backward(x);  // d x / d x = 1, seeded with 8
  EXPECT_EQ(x.grad().to_vector()[0], 8.0f);
}

TEST(GradScaler, OverflowSkipsTheStepAndBacksOff) {
  Toy s;
  GradScaler scaler({.init_scale = 4096.0, .backoff_factor = 0.25});
  s.w.set_grad(Tensor::from_vector({std::numeric_limits<float>::infinity(), 1.0f}, {2}));
  EXPECT_FALSE(scaler.step(s.sgd));
  EXPECT_EQ(s.w.to_vector(), (std::vector<float>{1.0f, 2.0f}));  // untouched
  EXPECT_EQ(s.sgd.steps(), 0);
  EXPECT_EQ(scaler.skipped_steps(), 1);
  EXPECT_EQ(scaler.scale(), 1024.0);
}

TEST(GradScaler, GrowsAfterTheIntervalOfCleanSteps) {
  Toy s;
  GradScaler scaler({.init_scale = 2.0, .growth_interval = 3});
  for (int i = 0; i < 3; ++i) {
    s.w.set_grad(Tensor::from_vector({0.0f, 0.0f}, {2}));
    EXPECT_TRUE(scaler.step(s.sgd));
  }
  EXPECT_EQ(scaler.scale(), 4.0);
  EXPECT_EQ(scaler.good_steps_in_a_row(), 0);
}

TEST(GradScaler, RejectsBadOptions) {
  EXPECT_THROW(GradScaler({.init_scale = 0.0}), ops::Error);
  EXPECT_THROW(GradScaler({.backoff_factor = 1.5}), ops::Error);
  EXPECT_THROW(GradScaler({.growth_interval = 0}), ops::Error);
}

}  // namespace
}  // namespace ringmaster::training
