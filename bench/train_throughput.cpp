// ringmaster side of the DeepConvNet throughput benchmark (bench/deepconvnet.py):
// the book's DeepConvNet on real Fashion-MNIST (x/255), batch 100, fp32, Adam;
// times --steps training steps after --warmup and prints one JSON line. Run by
// hand only; never part of the test suite.
#include <chrono>
#include <cstdio>
#include <random>

#include <CLI/CLI.hpp>

#include "models/dataset.h"
#include "models/model_registry.h"
#include "models/optimizer.h"
#include "ops/device_memory.h"
#include "ops/softmax.h"

int main(int argc, char** argv) {
  namespace m = ringmaster::models;
  namespace o = ringmaster::ops;
  CLI::App app{"DeepConvNet training throughput"};
  std::string data = "/usr/share/datasets/fashion-mnist";
  int threads = 2, batch = 100, warmup = 10, steps = 60;
  app.add_option("--data", data);
  app.add_option("--threads", threads);
  app.add_option("--batch", batch);
  app.add_option("--warmup", warmup);
  app.add_option("--steps", steps);
  CLI11_PARSE(app, argc, argv);

  o::set_cpu_threads(threads);
  m::Dataset train =
      m::load_idx(data + "/train-images-idx3-ubyte.gz", data + "/train-labels-idx1-ubyte.gz");
  train = m::subset(train, static_cast<int64_t>(batch) * (warmup + steps));
  std::mt19937_64 rng(1);
  auto model = m::build_model("deep_convnet", {1, 10, 28}, rng);
  model->train(true);
  m::AdamOptions ao;
  ao.lr = 1e-3;
  m::Adam opt(model->named_parameters(), ao);
  m::BatchLoader loader(train, batch, /*seed=*/1, /*epoch=*/0, /*shuffle=*/false);

  auto step = [&](const m::Batch& b) {
    opt.zero_grad();
    o::Tensor loss = o::softmax_cross_entropy(model->forward(b.images), b.labels);
    loss.backward();
    opt.step();
    return loss.item();
  };
  for (int i = 0; i < warmup; ++i) step(*loader.next());
  const auto t0 = std::chrono::steady_clock::now();
  double loss = 0.0;
  for (int i = 0; i < steps; ++i) loss = step(*loader.next());
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "{\"impl\": \"ringmaster\", \"threads\": %d, \"images_per_second\": %.3f, \"last_loss\": "
      "%.6f}\n",
      o::cpu_threads(), batch * steps / dt, loss);
  return 0;
}
