// Optimizer update kernels on the CPU: the update rules on hand-checked
// numbers (the optimizers' full PyTorch comparisons are in
// tests/training/optimizer_test.cpp), and unscale_grads' overflow check.
#include "ops/optimizer_update.h"

#include "op_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace ringmaster::ops {
namespace {

TEST(OptimizerUpdate, SgdPlainAndMomentum) {
  Tensor p = Tensor::from_vector({1.0f, -2.0f}, {2}), g = Tensor::from_vector({0.5f, 1.0f}, {2});
  SgdStep s;
  s.lr = 0.1f;
  sgd_update(p, g, Tensor(), s);
  EXPECT_FLOAT_EQ(p.to_vector()[0], 0.95f);
  EXPECT_FLOAT_EQ(p.to_vector()[1], -2.1f);
  Tensor buf = Tensor::zeros({2});
  s.momentum = 0.9f;
  s.first = true;
  sgd_update(p, g, buf, s);  // buf = g
  EXPECT_FLOAT_EQ(buf.to_vector()[0], 0.5f);
  s.first = false;
  sgd_update(p, g, buf, s);  // buf = 0.9 * 0.5 + 0.5
  EXPECT_FLOAT_EQ(buf.to_vector()[0], 0.95f);
}

TEST(OptimizerUpdate, AdamFirstStepMovesByStepSize) {
  Tensor p = Tensor::from_vector({1.0f}, {1}), g = Tensor::from_vector({-3.0f}, {1});
  Tensor m = Tensor::zeros({1}), v = Tensor::zeros({1});
  AdamStep s;
  s.step_size = 0.01f / 0.1f;  // lr / (1 - beta1)
  s.bias2_sqrt = std::sqrt(0.001f);
  s.eps = 0.0f;
  adam_update(p, g, m, v, s);
  EXPECT_NEAR(p.to_vector()[0], 1.01f, 1e-6);
}

TEST(OptimizerUpdate, UnscaleGradsScalesAndFindsOverflow) {
  Tensor a = Tensor::from_vector({2.0f, 4.0f}, {2}), b = Tensor::from_vector({8.0f}, {1});
  EXPECT_FALSE(unscale_grads({a, b}, 0.5f));
  EXPECT_EQ(a.to_vector(), (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(b.to_vector(), (std::vector<float>{4.0f}));
  for (float bad : {std::numeric_limits<float>::infinity(), std::nanf("")}) {
    Tensor c = Tensor::from_vector({1.0f, bad, 3.0f}, {3});
    EXPECT_TRUE(unscale_grads({a, c}, 1.0f)) << bad;
  }
  EXPECT_FALSE(unscale_grads({}, 1.0f));
}

TEST(OptimizerUpdate, GradNormIsTheL2NormOfAllGradientsInDouble) {
  for (const std::vector<Shape>& shapes :
       {std::vector<Shape>{{1}}, {{7, 3}, {1}, {2, 5, 3}}, {{100003}}, {}}) {
    std::vector<Tensor> grads;
    double want = 0.0;
    for (const Shape& sh : shapes) {
      grads.push_back(ops::testing::random_tensor(sh, -3.0f, 3.0f));
      for (float v : grads.back().to_vector()) want += static_cast<double>(v) * v;
    }
    want = std::sqrt(want);
    EXPECT_NEAR(grad_norm(grads), want, 1e-12 * std::max(want, 1.0)) << shapes.size();
  }
  EXPECT_DOUBLE_EQ(
      grad_norm({Tensor::from_vector({3.0f, 0.0f}, {2}), Tensor::from_vector({4.0f}, {1})}), 5.0);
  EXPECT_TRUE(std::isinf(
      grad_norm({Tensor::from_vector({1.0f, std::numeric_limits<float>::infinity()}, {2})})));
  EXPECT_TRUE(std::isnan(grad_norm({Tensor::from_vector({std::nanf("")}, {1})})));
}

}  // namespace
}  // namespace ringmaster::ops
