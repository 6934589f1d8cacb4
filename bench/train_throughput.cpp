// ringmaster side of the training throughput benchmark (bench/deepconvnet.py):
// the book's DeepConvNet on Fashion-MNIST (x/255) or, with --synthetic, on
// random 28x28 images of the same shape (the GPU machine has no data sets),
// or with --model resnet50 ResNet-50 (ImageNet layout, 1,000 classes) on
// random 3x224x224 images; --batch (default 100), Adam, on --device cpu or
// cuda, --precision fp32 or fp16 (mixed precision with loss scaling, GPU
// only); times --steps training steps after --warmup and prints one JSON
// line. Run by hand only.
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include <CLI/CLI.hpp>

#include "models/dataset.h"
#include "models/model_registry.h"
#include "ops/cast.h"
#include "ops/device_memory.h"
#include "ops/softmax.h"
#include "training/grad_scaler.h"
#include "training/job_spec.h"
#include "training/optimizer.h"

namespace {

// n random channels x size x size images with random labels (fixed seed).
ringmaster::models::Dataset synthetic(int64_t n, int64_t channels, int64_t size, int64_t classes) {
  namespace m = ringmaster::models;
  namespace training = ringmaster::training;
  namespace o = ringmaster::ops;
  m::Dataset ds;
  ds.images = o::Tensor::empty({n, channels, size, size}, o::DType::u8);
  ds.num_classes = classes;
  std::mt19937_64 rng(1);
  uint8_t* px = ds.images.data<uint8_t>();
  for (int64_t i = 0; i < ds.images.numel(); ++i) px[i] = static_cast<uint8_t>(rng() >> 56);
  for (int64_t i = 0; i < n; ++i) ds.labels.push_back(static_cast<int64_t>(rng() % classes));
  return ds;
}

}  // namespace

int main(int argc, char** argv) {
  namespace m = ringmaster::models;
  namespace training = ringmaster::training;
  namespace o = ringmaster::ops;
  CLI::App app{"DeepConvNet / ResNet-50 training throughput"};
  std::string data = "/usr/share/datasets/fashion-mnist", device = "cpu",
              model_name = "deep_convnet";
  training::Precision precision = training::Precision::kFp32;
  int threads = 2, batch = 100, warmup = 10, steps = 60;
  bool use_synthetic = false;
  app.add_option("--data", data);
  app.add_option("--threads", threads);
  app.add_option("--batch", batch);
  app.add_option("--warmup", warmup);
  app.add_option("--steps", steps);
  app.add_option("--device", device)->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_flag("--synthetic", use_synthetic, "random images instead of Fashion-MNIST");
  app.add_option("--precision", precision)
      ->transform(CLI::CheckedTransformer(std::map<std::string, training::Precision>{
          {"fp32", training::Precision::kFp32}, {"fp16", training::Precision::kFp16}}));
  app.add_option("--model", model_name)->check(CLI::IsMember({"deep_convnet", "resnet50"}));
  CLI11_PARSE(app, argc, argv);
  const bool resnet50 = model_name == "resnet50";
  if (resnet50 && !use_synthetic) {
    std::fprintf(stderr, "--model resnet50 needs --synthetic (no ImageNet here)\n");
    return 1;
  }

  if (device == "cuda" && o::cuda_device_count() == 0) {
    std::fprintf(stderr, "no CUDA device: %s\n", o::cuda_unavailable_reason().c_str());
    return 1;
  }
  const o::Device dev = device == "cuda" ? o::Device::cuda(0) : o::Device::cpu();
  const bool half = precision == training::Precision::kFp16;
  if (half && !dev.is_cuda()) {
    std::fprintf(stderr, "--precision fp16 needs --device cuda\n");
    return 1;
  }
  training::GradScaler scaler;
  o::set_cpu_threads(threads);
  const int64_t n = static_cast<int64_t>(batch) * (warmup + steps);
  m::Dataset train = use_synthetic
                         ? (resnet50 ? synthetic(n, 3, 224, 1000) : synthetic(n, 1, 28, 10))
                         : m::subset(m::load_idx(data + "/train-images-idx3-ubyte.gz",
                                                 data + "/train-labels-idx1-ubyte.gz"),
                                     n);
  std::mt19937_64 rng(1);
  auto model = resnet50 ? m::build_model("resnet", {3, 1000, 224}, rng, {{"depth", 50}})
                        : m::build_model("deep_convnet", {1, 10, 28}, rng);
  model->train(true);
  model->to(dev);
  training::AdamOptions ao;
  ao.lr = 1e-3;
  training::Adam opt(model->named_parameters(), ao);
  m::BatchLoader loader(train, batch, /*seed=*/1, /*epoch=*/0, /*shuffle=*/false);

  // Batches are copied to the device each step, as a PyTorch loop does.
  auto step = [&](const m::Batch& b) {
    opt.zero_grad();
    o::Tensor x = b.images.to(dev);
    if (half) x = o::cast(x, o::DType::f16);
    o::Tensor logits = o::cast(model->forward(x), o::DType::f32);
    o::Tensor loss = o::softmax_cross_entropy(logits, b.labels.to(dev));
    if (half) {
      scaler.backward(loss);
      scaler.step(opt);
    } else {
      loss.backward();
      opt.step();
    }
    return loss.item();  // a sync point on a GPU
  };
  for (int i = 0; i < warmup; ++i) step(*loader.next());
  const auto t0 = std::chrono::steady_clock::now();
  double loss = 0.0;
  for (int i = 0; i < steps; ++i) loss = step(*loader.next());
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "{\"impl\": \"ringmaster\", \"model\": \"%s\", \"device\": \"%s\", \"precision\": \"%s\", "
      "\"threads\": %d, \"batch\": %d, \"images_per_second\": %.3f, \"last_loss\": %.6f}\n",
      model_name.c_str(), dev.str().c_str(), training::to_string(precision), o::cpu_threads(), batch,
      batch * steps / dt, loss);
  return 0;
}
