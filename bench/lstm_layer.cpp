// One LSTM layer alone, forward and backward (models::Recurrent over
// ops::rnn_layer, oneDNN's LSTM primitives): x (T, N, I) random, the loss
// the sum of y weighted by a fixed random tensor (so every output has a
// gradient), backward into x and every weight. Times --iterations after
// --warmup and prints one JSON line. The PyTorch side is in
// bench/sequence.py; run that, not this.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "models/recurrent.h"
#include "ops/autograd.h"
#include "ops/device_memory.h"

int main(int argc, char** argv) {
  namespace m = ringmaster::models;
  namespace o = ringmaster::ops;
  CLI::App app{"LSTM layer forward and backward"};
  int threads = 2, warmup = 3, iterations = 20;
  int64_t batch = 64, steps = 35, hidden = 512, input = 512;
  app.add_option("--threads", threads);
  app.add_option("--batch", batch);
  app.add_option("--steps", steps);
  app.add_option("--hidden", hidden);
  app.add_option("--input", input);
  app.add_option("--warmup", warmup);
  app.add_option("--iterations", iterations);
  CLI11_PARSE(app, argc, argv);

  o::set_cpu_threads(threads);
  std::mt19937_64 rng(1);
  m::Recurrent lstm(
      m::RecurrentOptions{.cell = o::RnnCell::kLstm, .input_size = input, .hidden_size = hidden},
      rng);
  o::Tensor x = o::Tensor::uniform({steps, batch, input}, rng, -1.0f, 1.0f);
  x.set_requires_grad(true);
  const o::Tensor dy = o::Tensor::uniform({steps, batch, hidden}, rng, -1.0f, 1.0f);
  auto iteration = [&] {
    for (auto& [name, p] : lstm.named_parameters()) p.set_grad(o::Tensor());
    x.set_grad(o::Tensor());
    o::Tensor y = lstm.forward(x);
    y.backward(dy);
  };
  for (int i = 0; i < warmup; ++i) iteration();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) iteration();
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "{\"impl\": \"ringmaster\", \"threads\": %d, \"seconds_per_iteration\": %.6f, "
      "\"sequences_per_second\": %.2f}\n",
      threads, dt / iterations, static_cast<double>(batch) * iterations / dt);
  return 0;
}
