// clip_grad_norm: gradients whose joint L2 norm is above the limit are scaled
// down to it (direction kept), below it left bit for bit; an SGD step after
// clipping moves the parameters by exactly lr * max_norm; an infinite norm
// is left alone. And the spec field, refused with sync.mode "ps".
#include "training/grad_clip.h"

#include <gtest/gtest.h>

#include <cmath>

#include "models/spec_reader.h"
#include "training/job_spec.h"

namespace ringmaster::training {
namespace {

// Two parameters with grads (3, 0) and (4): joint norm 5.
struct Params {
  ops::Tensor a = ops::Tensor::from_vector({1.0f, 2.0f}, {2});
  ops::Tensor b = ops::Tensor::from_vector({-1.0f}, {1});
  Params(float ga0, float ga1, float gb) {
    a.set_requires_grad(true);
    b.set_requires_grad(true);
    a.set_grad(ops::Tensor::from_vector({ga0, ga1}, {2}));
    b.set_grad(ops::Tensor::from_vector({gb}, {1}));
  }
  NamedTensors named() const { return {{"a", a}, {"b", b}}; }
};

TEST(GradClip, ScalesDownToTheLimitKeepingTheDirection) {
  Params p(3.0f, 0.0f, 4.0f);
  SGD opt(p.named(), SGDOptions{.lr = 1.0});
  EXPECT_DOUBLE_EQ(clip_grad_norm(opt, 1.0), 5.0);
  const std::vector<float> ga = p.a.grad().to_vector(), gb = p.b.grad().to_vector();
  EXPECT_NEAR(std::sqrt(ga[0] * ga[0] + ga[1] * ga[1] + gb[0] * gb[0]), 1.0, 1e-6);
  EXPECT_NEAR(ga[0] / gb[0], 0.75, 1e-6);
  EXPECT_EQ(ga[1], 0.0f);
  // SGD with lr 1 then moves the parameters by exactly the clipped norm.
  opt.step();
  const std::vector<float> a = p.a.to_vector(), b = p.b.to_vector();
  const double moved =
      std::sqrt(std::pow(a[0] - 1.0, 2) + std::pow(a[1] - 2.0, 2) + std::pow(b[0] + 1.0, 2));
  EXPECT_NEAR(moved, 1.0, 1e-6);
}

TEST(GradClip, BelowTheLimitOrNotFiniteLeavesTheGradientsAlone) {
  Params p(0.3f, -0.1f, 0.2f);
  SGD opt(p.named(), SGDOptions{.lr = 1.0});
  clip_grad_norm(opt, 1.0);
  EXPECT_EQ(p.a.grad().to_vector(), (std::vector<float>{0.3f, -0.1f}));
  EXPECT_EQ(p.b.grad().to_vector(), (std::vector<float>{0.2f}));
  Params q(INFINITY, 1.0f, 2.0f);
  SGD opt2(q.named(), SGDOptions{.lr = 1.0});
  EXPECT_TRUE(std::isinf(clip_grad_norm(opt2, 1.0)));
  EXPECT_EQ(q.b.grad().to_vector(), (std::vector<float>{2.0f}));
}

TEST(GradClip, TheSpecFieldIsReadAndRefusedWithTheParameterServer) {
  EXPECT_EQ(parse_job_spec({{"optimizer", {{"clip_grad_norm", 2.5}}}}).optimizer.clip_grad_norm,
            2.5);
  EXPECT_EQ(parse_job_spec(nlohmann::json::object()).optimizer.clip_grad_norm, 0.0);
  auto problems = [](const nlohmann::json& j) {
    try {
      parse_job_spec(j);
    } catch (const models::SpecError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(problems({{"optimizer", {{"clip_grad_norm", -1}}}}).find("/optimizer/clip_grad_norm"),
            std::string::npos);
  EXPECT_NE(problems({{"optimizer", {{"clip_grad_norm", 1}}},
                      {"resources", {{"workers", 2}}},
                      {"sync", {{"mode", "ps"}}}})
                .find("/optimizer/clip_grad_norm: the parameter-server shards"),
            std::string::npos);
}

}  // namespace
}  // namespace ringmaster::training
