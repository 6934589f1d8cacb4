// Optimizers against the PyTorch update rules worked out here in double on
// tiny tensors, plus state export/import and the JSON factory.
#include "training/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace ringmaster::training {
namespace {

using ops::Tensor;

Tensor param(const std::vector<float>& v) {
  Tensor t = Tensor::from_vector(v, {static_cast<int64_t>(v.size())});
  t.set_requires_grad(true);
  return t;
}

void set_grad(Tensor& p, const std::vector<float>& g) {
  p.set_grad(Tensor::from_vector(g, p.shape()));
}

void expect_values(const Tensor& t, const std::vector<double>& want, double tol,
                   const std::string& what) {
  std::vector<float> got = t.to_vector();
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::fabs(want[i])))
        << what << " [" << i << "]";
}

// Fixed gradients per step (not dependent on p), three steps.
const std::vector<std::vector<float>> kGrads = {
    {0.5f, -1.0f, 2.0f}, {0.25f, 0.75f, -1.5f}, {-0.125f, 0.5f, 1.0f}};
const std::vector<float> kInit = {1.0f, -2.0f, 0.5f};

TEST(Optimizer, SgdPlain) {
  Tensor p = param(kInit);
  SGD opt({{"x", p}}, {.lr = 0.1});
  std::vector<double> w(kInit.begin(), kInit.end());
  for (const auto& g : kGrads) {
    set_grad(p, g);
    opt.step();
    for (size_t i = 0; i < w.size(); ++i) w[i] -= 0.1 * g[i];
  }
  expect_values(p, w, 1e-6, "sgd");
  EXPECT_EQ(opt.steps(), 3);
}

// PyTorch: d = g + wd p; buf = d (first) else mom buf + (1 - damp) d;
// d = nesterov ? d + mom buf : buf; p -= lr d.
void sgd_reference(bool nesterov, double dampening) {
  const double lr = 0.05, mom = 0.9, wd = 0.01;
  Tensor p = param(kInit);
  SGD opt({{"x", p}}, {.lr = lr,
                       .momentum = mom,
                       .dampening = dampening,
                       .nesterov = nesterov,
                       .weight_decay = wd});
  std::vector<double> w(kInit.begin(), kInit.end()), buf(w.size());
  for (size_t s = 0; s < kGrads.size(); ++s) {
    set_grad(p, kGrads[s]);
    opt.step();
    for (size_t i = 0; i < w.size(); ++i) {
      double d = kGrads[s][i] + wd * w[i];
      buf[i] = s == 0 ? d : mom * buf[i] + (1 - dampening) * d;
      d = nesterov ? d + mom * buf[i] : buf[i];
      w[i] -= lr * d;
    }
    expect_values(p, w, 1e-5, "sgd step " + std::to_string(s));
  }
  TensorMap st = opt.state();
  ASSERT_TRUE(st.count("momentum.x"));
  expect_values(st.at("momentum.x"), buf, 1e-5, "momentum buffer");
}

TEST(Optimizer, SgdMomentumWeightDecay) { sgd_reference(false, 0.0); }
TEST(Optimizer, SgdMomentumDampening) { sgd_reference(false, 0.3); }
TEST(Optimizer, SgdNesterov) { sgd_reference(true, 0.0); }

TEST(Optimizer, SgdNesterovNeedsMomentum) {
  Tensor p = param(kInit);
  EXPECT_THROW(SGD({{"x", p}}, {.lr = 0.1, .nesterov = true}), ops::Error);
}

// PyTorch Adam/AdamW with per-parameter step t.
void adam_reference(bool decoupled, double wd) {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  Tensor p = param(kInit);
  AdamOptions o{.lr = lr, .beta1 = b1, .beta2 = b2, .eps = eps, .weight_decay = wd};
  std::unique_ptr<Optimizer> opt;
  if (decoupled)
    opt = std::make_unique<AdamW>(NamedTensors{{"x", p}}, o);
  else
    opt = std::make_unique<Adam>(NamedTensors{{"x", p}}, o);
  std::vector<double> w(kInit.begin(), kInit.end()), m(w.size()), v(w.size());
  for (size_t s = 0; s < kGrads.size(); ++s) {
    set_grad(p, kGrads[s]);
    opt->step();
    const double t = static_cast<double>(s + 1);
    for (size_t i = 0; i < w.size(); ++i) {
      double g = kGrads[s][i];
      if (decoupled)
        w[i] *= 1 - lr * wd;
      else
        g += wd * w[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      const double mhat = m[i] / (1 - std::pow(b1, t));
      const double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, t)) + eps;
      w[i] -= lr * mhat / denom;
    }
    expect_values(p, w, 1e-5,
                  std::string(decoupled ? "adamw" : "adam") + " step " + std::to_string(s));
  }
  TensorMap st = opt->state();
  expect_values(st.at("adam.m.x"), m, 1e-5, "adam m");
  expect_values(st.at("adam.v.x"), v, 1e-5, "adam v");
  EXPECT_EQ(st.at("adam.step.x").data<int64_t>()[0], 3);
  EXPECT_EQ(st.at("step").data<int64_t>()[0], 3);
}

TEST(Optimizer, Adam) { adam_reference(false, 0.0); }
TEST(Optimizer, AdamL2WeightDecay) { adam_reference(false, 0.1); }
TEST(Optimizer, AdamWDecoupledWeightDecay) { adam_reference(true, 0.1); }

TEST(Optimizer, AdamFirstStepMovesByLr) {
  // With bias correction, the first step is lr * sign(g) (up to eps).
  Tensor p = param({0.0f, 0.0f});
  Adam opt({{"x", p}}, {.lr = 0.5});
  set_grad(p, {3.0f, -0.001f});
  opt.step();
  expect_values(p, {-0.5, 0.5}, 1e-4, "first adam step");
}

TEST(Optimizer, SkipsFrozenAndGradlessParameters) {
  Tensor a = param({1.0f}), b = param({2.0f}), c = param({3.0f});
  SGD opt({{"a", a}, {"b", b}, {"c", c}}, {.lr = 1.0, .momentum = 0.5});
  set_grad(a, {1.0f});
  set_grad(b, {1.0f});
  b.set_requires_grad(false);  // frozen; c has no grad
  opt.step();
  EXPECT_FLOAT_EQ(a.item(), 0.0f);
  EXPECT_FLOAT_EQ(b.item(), 2.0f);
  EXPECT_FLOAT_EQ(c.item(), 3.0f);
  TensorMap st = opt.state();
  EXPECT_TRUE(st.count("momentum.a"));
  EXPECT_FALSE(st.count("momentum.b"));
  EXPECT_FALSE(st.count("momentum.c"));
}

TEST(Optimizer, ZeroGradDropsGrads) {
  Tensor a = param({1.0f});
  SGD opt({{"a", a}}, {.lr = 1.0});
  set_grad(a, {1.0f});
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  opt.step();  // nothing to do
  EXPECT_FLOAT_EQ(a.item(), 1.0f);
}

TEST(Optimizer, LrIsSettable) {
  Tensor a = param({1.0f});
  SGD opt({{"a", a}}, {.lr = 1.0});
  opt.set_lr(0.25);
  EXPECT_DOUBLE_EQ(opt.lr(), 0.25);
  set_grad(a, {1.0f});
  opt.step();
  EXPECT_FLOAT_EQ(a.item(), 0.75f);
}

// Two steps straight equal one step, export, import into a fresh optimizer,
// one more step.
template <class Opt, class Options>
void check_resume(const Options& o) {
  Tensor p1 = param(kInit), p2 = param(kInit);
  Opt straight({{"x", p1}}, o);
  Opt first({{"x", p2}}, o);
  set_grad(p1, kGrads[0]);
  straight.step();
  set_grad(p2, kGrads[0]);
  first.step();
  TensorMap saved;
  for (auto& [k, t] : first.state()) saved.emplace(k, t.clone());
  Opt resumed({{"x", p2}}, o);
  resumed.load_state(saved);
  EXPECT_EQ(resumed.steps(), 1);
  set_grad(p1, kGrads[1]);
  straight.step();
  set_grad(p2, kGrads[1]);
  resumed.step();
  EXPECT_EQ(p1.to_vector(), p2.to_vector());
}

TEST(Optimizer, SgdStateRoundTrip) {
  check_resume<SGD>(SGDOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true});
}
TEST(Optimizer, AdamStateRoundTrip) { check_resume<Adam>(AdamOptions{.lr = 0.01}); }

TEST(Optimizer, LoadStateRejectsMismatches) {
  Tensor p = param(kInit);
  SGD opt({{"x", p}}, {.lr = 0.1, .momentum = 0.9});
  TensorMap bad_shape{{"momentum.x", Tensor::zeros({2})}};
  EXPECT_THROW(opt.load_state(bad_shape), ops::Error);
  TensorMap unknown{{"momentum.y", Tensor::zeros({3})}};
  EXPECT_THROW(opt.load_state(unknown), ops::Error);
}

TEST(Optimizer, FromJson) {
  Tensor p = param(kInit);
  auto sgd = make_optimizer(
      nlohmann::json::parse(R"({"type":"sgd","lr":0.1,"momentum":0.9,"nesterov":true})"),
      {{"x", p}});
  ASSERT_NE(dynamic_cast<SGD*>(sgd.get()), nullptr);
  EXPECT_TRUE(dynamic_cast<SGD*>(sgd.get())->options().nesterov);
  auto adamw =
      make_optimizer(nlohmann::json::parse(R"({"type":"adamw","betas":[0.8,0.99]})"), {{"x", p}});
  auto* aw = dynamic_cast<AdamW*>(adamw.get());
  ASSERT_NE(aw, nullptr);
  EXPECT_DOUBLE_EQ(aw->options().beta1, 0.8);
  EXPECT_DOUBLE_EQ(aw->options().weight_decay, 0.01);

  auto error_of = [&](const char* text) {
    try {
      make_optimizer(nlohmann::json::parse(text), {{"x", p}});
    } catch (const ops::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(R"({"type":"sgd","lr":0.1,"momentun":0.9})").find("'momentun'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type":"sgd","lr":"fast"})").find("'lr'"), std::string::npos);
  EXPECT_NE(error_of(R"({"type":"rmsprop"})").find("'type'"), std::string::npos);
  EXPECT_NE(error_of(R"({"type":"sgd"})").find("'lr' is required"), std::string::npos);
}

}  // namespace
}  // namespace ringmaster::training
