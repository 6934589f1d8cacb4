// Recurrent: PyTorch's parameter names, shapes, count and initial range; a
// stack is its layers run one after the other (the same bits as calling
// ops::rnn_layer by hand); states go in and come out per layer and
// direction; gradients reach every parameter; dropout acts between layers in
// training only.
#include "models/recurrent.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "ops/concat.h"
#include "ops/reshape.h"
#include "ops/slice.h"

namespace ringmaster::models {
namespace {

ops::Tensor rand_tensor(const ops::Shape& shape, std::mt19937_64& rng) {
  return ops::Tensor::uniform(shape, rng, -1.0f, 1.0f);
}

bool same_bits(const ops::Tensor& a, const ops::Tensor& b) {
  if (a.shape() != b.shape()) return false;
  const ops::Tensor pa = a.to_plain(), pb = b.to_plain();
  return std::memcmp(pa.data<float>(), pb.data<float>(), pa.numel() * sizeof(float)) == 0;
}

TEST(Recurrent, ParametersAreNamedShapedAndDrawnAsPyTorchs) {
  std::mt19937_64 rng(3);
  Recurrent lstm({ops::RnnCell::kLstm, 7, 5, 2, true, true, 0.0}, rng);
  std::map<std::string, ops::Shape> want;
  for (const std::string dir : {"", "_reverse"}) {
    want["weight_ih_l0" + dir] = {20, 7};
    want["weight_hh_l0" + dir] = {20, 5};
    want["bias_ih_l0" + dir] = {20};
    want["bias_hh_l0" + dir] = {20};
    want["weight_ih_l1" + dir] = {20, 10};
    want["weight_hh_l1" + dir] = {20, 5};
    want["bias_ih_l1" + dir] = {20};
    want["bias_hh_l1" + dir] = {20};
  }
  std::map<std::string, ops::Shape> got;
  for (const auto& [name, t] : lstm.named_parameters()) {
    got[name] = t.shape();
    for (float v : t.to_vector()) {
      ASSERT_LE(std::fabs(v), 1.0f / std::sqrt(5.0f)) << name;
    }
  }
  EXPECT_EQ(got, want);
  // torch.nn.LSTM(7, 5, num_layers=2, bidirectional=True): 2*(4*5*(7+5)+2*20) + 2*(4*5*(10+5)+2*20)
  EXPECT_EQ(lstm.num_parameters(), 1240);
  Recurrent gru({ops::RnnCell::kGru, 3, 4, 1, false, false, 0.0}, rng);
  EXPECT_EQ(gru.num_parameters(), 12 * 3 + 12 * 4);  // no biases
}

TEST(Recurrent, AStackIsItsLayersOneAfterTheOther) {
  for (ops::RnnCell cell : {ops::RnnCell::kTanh, ops::RnnCell::kLstm, ops::RnnCell::kGru}) {
    std::mt19937_64 rng(5);
    Recurrent net({cell, 6, 4, 2, true, true, 0.0}, rng);
    const bool lstm = cell == ops::RnnCell::kLstm;
    const ops::Tensor x = rand_tensor({5, 3, 6}, rng);
    RecurrentState s0{rand_tensor({4, 3, 4}, rng),
                      lstm ? rand_tensor({4, 3, 4}, rng) : ops::Tensor()};
    const std::vector<int64_t> lengths = {5, 3, 1};
    const RecurrentOutput out = net.run(x, s0, lengths);

    // By hand: each layer's two directions stacked, fed the previous output.
    std::map<std::string, ops::Tensor> p;
    for (const auto& [name, t] : net.named_parameters()) p[name] = t;
    const auto both = [&](const std::string& name) {
      return ops::concat({ops::reshape(p[name], {1, p[name].dim(0), -1}),
                          ops::reshape(p[name + "_reverse"], {1, p[name].dim(0), -1})},
                         0);
    };
    const auto bias = [&](const std::string& name) {
      return ops::reshape(both(name), {2, p[name].dim(0)});
    };
    ops::RnnParams rp;
    rp.cell = cell;
    rp.lengths = lengths;
    ops::Tensor in = x;
    std::vector<ops::Tensor> hs, cs;
    for (int k = 0; k < 2; ++k) {
      const std::string l = "_l" + std::to_string(k);
      const auto part = [&](const ops::Tensor& t) {
        return t.defined() ? ops::slice(t, 0, 2 * k, 2 * k + 2) : ops::Tensor();
      };
      const ops::RnnOutputs o =
          ops::rnn_layer(rp, in, part(s0.h), part(s0.c), both("weight_ih" + l),
                         both("weight_hh" + l), bias("bias_ih" + l), bias("bias_hh" + l));
      in = o.y;
      hs.push_back(o.h_n);
      if (lstm) cs.push_back(o.c_n);
    }
    EXPECT_TRUE(same_bits(out.y, in));
    EXPECT_TRUE(same_bits(out.state.h, ops::concat(hs, 0)));
    if (lstm) {
      EXPECT_TRUE(same_bits(out.state.c, ops::concat(cs, 0)));
    }
    EXPECT_EQ(out.y.shape(), (ops::Shape{5, 3, 8}));
    EXPECT_EQ(out.state.h.shape(), (ops::Shape{4, 3, 4}));
  }
}

TEST(Recurrent, GradientsReachEveryParameterAndTheInputs) {
  std::mt19937_64 rng(7);
  Recurrent net({ops::RnnCell::kLstm, 4, 3, 2, true, true, 0.0}, rng);
  ops::Tensor x = rand_tensor({4, 2, 4}, rng);
  ops::Tensor h0 = rand_tensor({4, 2, 3}, rng);
  x.set_requires_grad(true);
  h0.set_requires_grad(true);
  const RecurrentOutput out = net.run(x, {h0, {}}, {4, 2});
  ops::Tensor loss = ops::concat(
      {ops::reshape(out.y, {-1}), ops::reshape(out.state.h, {-1}), ops::reshape(out.state.c, {-1})},
      0);
  loss.backward(ops::Tensor::full(loss.shape(), 1.0f));
  for (const auto& [name, t] : net.named_parameters()) {
    ASSERT_TRUE(t.grad().defined()) << name;
    double sum = 0.0;
    for (float v : t.grad().to_vector()) {
      ASSERT_TRUE(std::isfinite(v)) << name;
      sum += std::fabs(v);
    }
    EXPECT_GT(sum, 0.0) << name;
  }
  ASSERT_TRUE(x.grad().defined());
  ASSERT_TRUE(h0.grad().defined());
}

TEST(Recurrent, DropoutActsBetweenLayersInTrainingOnly) {
  std::mt19937_64 rng(11);
  Recurrent net({ops::RnnCell::kGru, 5, 6, 3, false, true, 0.5}, rng);
  const ops::Tensor x = rand_tensor({4, 2, 5}, rng);
  net.eval();
  const ops::Tensor a = net.forward(x), b = net.forward(x);
  EXPECT_TRUE(same_bits(a, b));
  net.train();
  const ops::Tensor c = net.forward(x);
  EXPECT_FALSE(same_bits(a, c));
  // One layer: nothing between layers, so training changes nothing.
  Recurrent single({ops::RnnCell::kGru, 5, 6, 1, false, true, 0.5}, rng);
  single.eval();
  const ops::Tensor d = single.forward(x);
  single.train();
  EXPECT_TRUE(same_bits(d, single.forward(x)));
}

}  // namespace
}  // namespace ringmaster::models
