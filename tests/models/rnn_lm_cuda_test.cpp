// rnn_lm on a GPU (the embedding, stacked cuDNN recurrent layers, the
// decoder): from the same initial weights, the logits and every parameter's
// gradient agree with the CPU model's, for a two-layer LSTM and a GRU with
// tied weights. Skips, with the CUDA runtime's reason, where there is no
// device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "models/rnn_lm.h"
#include "ops/device_memory.h"

namespace ringmaster::models {
namespace {

using ops::Device;
using ops::Tensor;

// max |a - b| / max(max |b|, 1e-3), both brought to the cpu.
double relative_error(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to(Device::cpu()).to_vector();
  const std::vector<float> y = b.to(Device::cpu()).to_vector();
  EXPECT_EQ(x.size(), y.size());
  double diff = 0.0, scale = 1e-3;
  for (size_t i = 0; i < std::min(x.size(), y.size()); ++i) {
    if (std::isnan(x[i])) return INFINITY;
    diff = std::max(diff, static_cast<double>(std::fabs(x[i] - y[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(y[i])));
  }
  return diff / scale;
}

void expect_cuda_matches_cpu(const RnnLmOptions& o, const std::string& what) {
  SCOPED_TRACE(what);
  const int64_t V = 13, N = 3, T = 9;
  std::mt19937_64 rng_a(7), rng_b(7);
  RnnLm cpu(o, V, rng_a), gpu(o, V, rng_b);
  gpu.to(Device::cuda());
  std::mt19937_64 draw(11);
  Tensor tokens = Tensor::empty({N, T}, ops::DType::i64);
  for (int64_t i = 0; i < N * T; ++i) tokens.data<int64_t>()[i] = static_cast<int64_t>(draw() % V);
  const Tensor upstream = Tensor::uniform({T, N, V}, draw, -1, 1);

  const Tensor want = cpu.forward(tokens);
  const Tensor got = gpu.forward(tokens);
  ASSERT_TRUE(got.device().is_cuda());
  EXPECT_LT(relative_error(got, want), 3e-4) << "logits";
  want.backward(upstream);
  got.backward(upstream.to(Device::cuda()));
  const auto cpu_params = cpu.named_parameters(), gpu_params = gpu.named_parameters();
  ASSERT_EQ(cpu_params.size(), gpu_params.size());
  for (size_t i = 0; i < cpu_params.size(); ++i) {
    const Tensor g = gpu_params[i].second.grad(), c = cpu_params[i].second.grad();
    ASSERT_TRUE(g.defined() && c.defined()) << gpu_params[i].first;
    EXPECT_TRUE(g.device().is_cuda()) << gpu_params[i].first;
    EXPECT_LT(relative_error(g, c), 3e-4) << gpu_params[i].first;
  }
}

TEST(CudaRnnLm, LogitsAndGradientsMatchTheCpu) {
  if (ops::cuda_device_count() == 0)
    GTEST_SKIP() << "no CUDA device: " << ops::cuda_unavailable_reason();
  expect_cuda_matches_cpu({.cell = ops::RnnCell::kLstm, .hidden_size = 8, .num_layers = 2},
                          "two-layer LSTM");
  expect_cuda_matches_cpu({.cell = ops::RnnCell::kGru, .hidden_size = 6, .tie_weights = true},
                          "tied GRU");
}

}  // namespace
}  // namespace ringmaster::models
