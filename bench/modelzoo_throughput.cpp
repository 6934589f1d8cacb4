// ringmaster side of the model-zoo throughput benchmark (bench/modelzoo.py):
// ResNet-20 (CIFAR layout, option A) or GoogLeNet-small on real Fashion-MNIST
// (x/255), fp32, SGD with momentum 0.9, built from the registry exactly as a
// job spec would; times --steps training steps after --warmup and prints one
// JSON line. Run by hand only; never part of the test suite.
#include <chrono>
#include <cstdio>
#include <random>

#include <CLI/CLI.hpp>

#include "models/dataset.h"
#include "models/model_registry.h"
#include "ops/device_memory.h"
#include "ops/softmax.h"
#include "training/optimizer.h"

int main(int argc, char** argv) {
  namespace m = ringmaster::models;
  namespace training = ringmaster::training;
  namespace o = ringmaster::ops;
  CLI::App app{"Model-zoo training throughput"};
  std::string data = "/usr/share/datasets/fashion-mnist", model_name = "resnet20";
  int threads = 2, batch = 128, warmup = 5, steps = 30;
  app.add_option("--model", model_name, "resnet20 | googlenet-small");
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
  const bool resnet = model_name == "resnet20";
  auto model = resnet ? m::build_model("resnet", {1, 10, 28}, rng, {{"depth", 20}})
                      : m::build_model("googlenet", {1, 10, 28}, rng, {{"variant", "small"}});
  model->train(true);
  training::SGD opt(model->named_parameters(), training::SGDOptions{.lr = 0.05, .momentum = 0.9});
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
      "{\"impl\": \"ringmaster\", \"model\": \"%s\", \"threads\": %d, \"parameters\": %lld, "
      "\"images_per_second\": %.3f, \"last_loss\": %.6f}\n",
      model_name.c_str(), o::cpu_threads(), static_cast<long long>(model->num_parameters()),
      batch * steps / dt, loss);
  return 0;
}
