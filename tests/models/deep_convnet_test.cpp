// deep_convnet and the registry: parameter names, count and init, output
// shape, dropout behaviour, a short training run on real digits, and the
// transfer-learning flow (checkpoint, load, replace the head, freeze).
#include "models/deep_convnet.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "models/dataset.h"
#include "models/layers.h"
#include "models/model_registry.h"
#include "models/safetensors.h"
#include "ops/autograd.h"
#include "ops/device_memory.h"
#include "ops/softmax.h"
#include "training/optimizer.h"

namespace ringmaster::models {
namespace {

using ops::Tensor;

int64_t conv_params(int64_t in, int64_t out) { return out * in * 9 + out; }

TEST(DeepConvNet, ParameterCount) {
  std::mt19937_64 rng(1);
  auto net = make_deep_convnet(1, 10, 28, rng);
  const int64_t want = conv_params(1, 16) + conv_params(16, 16) + conv_params(16, 32) +
                       conv_params(32, 32) + conv_params(32, 64) + conv_params(64, 64) +
                       (1024 * 50 + 50) + (50 * 10 + 10);
  EXPECT_EQ(net->num_parameters(), want);
  EXPECT_EQ(deep_convnet_feature_size(28), 64 * 4 * 4);
  EXPECT_EQ(deep_convnet_feature_size(8), 64);  // 8 8 4 4 6 3 3 3 1
  EXPECT_EQ(deep_convnet_feature_size(2), 0);
}

TEST(DeepConvNet, ParameterNamesAndShapes) {
  std::mt19937_64 rng(1);
  auto net = make_deep_convnet(3, 7, 32, rng);
  std::vector<std::pair<std::string, ops::Shape>> want = {{"conv1.weight", {16, 3, 3, 3}},
                                                          {"conv1.bias", {16}},
                                                          {"conv2.weight", {16, 16, 3, 3}},
                                                          {"conv2.bias", {16}},
                                                          {"conv3.weight", {32, 16, 3, 3}},
                                                          {"conv3.bias", {32}},
                                                          {"conv4.weight", {32, 32, 3, 3}},
                                                          {"conv4.bias", {32}},
                                                          {"conv5.weight", {64, 32, 3, 3}},
                                                          {"conv5.bias", {64}},
                                                          {"conv6.weight", {64, 64, 3, 3}},
                                                          {"conv6.bias", {64}},
                                                          // 32 32 16 16 18 9 9 9 4
                                                          {"fc1.weight", {50, 64 * 4 * 4}},
                                                          {"fc1.bias", {50}},
                                                          {"fc2.weight", {7, 50}},
                                                          {"fc2.bias", {7}}};
  NamedTensors got = net->named_parameters();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].first, want[i].first);
    EXPECT_EQ(got[i].second.shape(), want[i].second) << want[i].first;
  }
  EXPECT_TRUE(net->named_buffers().empty());
}

TEST(DeepConvNet, HeInitialisation) {
  std::mt19937_64 rng(2);
  auto net = make_deep_convnet(1, 10, 28, rng);
  for (const auto& [name, t] : net->named_parameters()) {
    std::vector<float> v = t.to_vector();
    double sum = 0, sq = 0;
    for (float x : v) {
      sum += x;
      sq += static_cast<double>(x) * x;
    }
    if (name.ends_with(".bias")) {
      EXPECT_EQ(sq, 0.0) << name;
      continue;
    }
    const int64_t fan_in = t.numel() / t.dim(0);
    const double want = std::sqrt(2.0 / static_cast<double>(fan_in));
    const double n = static_cast<double>(v.size());
    const double stddev = std::sqrt(sq / n - (sum / n) * (sum / n));
    // Sampling error of a std estimate is about want / sqrt(2n); allow 5 sigma.
    EXPECT_NEAR(stddev, want, 5 * want / std::sqrt(2 * n) + 1e-6) << name;
  }
}

TEST(DeepConvNet, SameSeedSameWeights) {
  std::mt19937_64 a(3), b(3), c(4);
  auto na = make_deep_convnet(1, 10, 28, a), nb = make_deep_convnet(1, 10, 28, b),
       nc = make_deep_convnet(1, 10, 28, c);
  EXPECT_EQ(na->named_parameters()[0].second.to_vector(),
            nb->named_parameters()[0].second.to_vector());
  EXPECT_NE(na->named_parameters()[0].second.to_vector(),
            nc->named_parameters()[0].second.to_vector());
}

TEST(DeepConvNet, OutputShape) {
  std::mt19937_64 rng(5);
  auto net = make_deep_convnet(1, 10, 28, rng);
  Tensor x = Tensor::uniform({2, 1, 28, 28}, rng, 0.0f, 1.0f);
  Tensor y = net->forward(x);
  EXPECT_EQ(y.shape(), (ops::Shape{2, 10}));
  net->eval();
  EXPECT_EQ(net->forward(x).shape(), (ops::Shape{2, 10}));
  std::mt19937_64 rng8(5);
  auto small = make_deep_convnet(1, 10, 8, rng8);
  EXPECT_EQ(small->forward(Tensor::uniform({3, 1, 8, 8}, rng, 0.0f, 1.0f)).shape(),
            (ops::Shape{3, 10}));
}

TEST(DeepConvNet, DropoutDiffersPerStepReproduciblyAndNotInEval) {
  std::mt19937_64 ra(6), rb(6), rx(0);
  auto a = make_deep_convnet(1, 10, 28, ra), b = make_deep_convnet(1, 10, 28, rb);
  Tensor x = Tensor::uniform({4, 1, 28, 28}, rx, 0.0f, 1.0f);
  std::vector<float> a1 = a->forward(x).to_vector(), a2 = a->forward(x).to_vector();
  std::vector<float> b1 = b->forward(x).to_vector(), b2 = b->forward(x).to_vector();
  EXPECT_NE(a1, a2);  // a new mask each training step
  EXPECT_EQ(a1, b1);  // the same masks from the same model seed
  EXPECT_EQ(a2, b2);
  a->eval();
  EXPECT_EQ(a->forward(x).to_vector(), a->forward(x).to_vector());
}

TEST(Registry, BuildsByNameAndListsKnownNames) {
  std::mt19937_64 rng(7);
  auto net =
      build_model("deep_convnet", {.in_channels = 1, .num_classes = 10, .image_size = 28}, rng);
  EXPECT_EQ(net->named_parameters().front().first, "conv1.weight");
  EXPECT_EQ(model_names(),
            (std::vector<std::string>{"deep_convnet", "face_resnet", "faster_rcnn", "fcn",
                                      "googlenet", "mlp", "nic", "rcnn", "resnet", "rnn_lm",
                                      "vgg"}));
  try {
    build_model("resnet9000", {}, rng);
    FAIL() << "no error";
  } catch (const ops::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("resnet9000"), std::string::npos) << msg;
    EXPECT_NE(msg.find("deep_convnet"), std::string::npos) << msg;
  }
  EXPECT_THROW(build_model("deep_convnet", {.image_size = 3}, rng), ops::Error);
}

TEST(Layers, FusedReluMatchesSeparateRelu) {
  std::mt19937_64 r1(8), r2(8), rx(9);
  Conv2d fused(3, 8, 3, r1, {.padding = 1, .fuse_relu = true});
  Conv2d plain(3, 8, 3, r2, {.padding = 1});
  Sequential separate;
  separate.push_back(std::shared_ptr<Conv2d>(&plain, [](Conv2d*) {}));
  separate.push_back(std::make_shared<ReLU>());
  Tensor x = Tensor::uniform({2, 3, 9, 9}, rx, -1.0f, 1.0f);
  EXPECT_EQ(fused.forward(x).to_vector(), separate.forward(x).to_vector());
  EXPECT_EQ(separate.named_parameters().front().first, "0.weight");

  std::mt19937_64 r3(10), r4(10);
  Linear lf(20, 6, r3, {.fuse_relu = true}), lp(20, 6, r4);
  Tensor v = Tensor::uniform({5, 20}, rx, -1.0f, 1.0f);
  std::vector<float> a = lf.forward(v).to_vector(), b = ReLU().forward(lp.forward(v)).to_vector();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6f) << i;
}

TEST(Layers, BatchNormBuffersAndModes) {
  BatchNorm2d bn(3);
  std::vector<std::string> names;
  for (auto& [n, t] : bn.state_dict()) names.push_back(n);
  EXPECT_EQ(names, (std::vector<std::string>{"bias", "num_batches_tracked", "running_mean",
                                             "running_var", "weight"}));
  std::mt19937_64 rng(11);
  Tensor x = Tensor::uniform({4, 3, 5, 5}, rng, 1.0f, 3.0f);
  Tensor y = bn.forward(x);
  EXPECT_EQ(y.shape(), x.shape());
  EXPECT_EQ(bn.num_batches_tracked.data<int64_t>()[0], 1);
  EXPECT_GT(bn.running_mean.to_vector()[0], 0.1f);  // moved towards the batch mean (~2)
  bn.eval();
  std::vector<float> before = bn.running_mean.to_vector();
  bn.forward(x);
  EXPECT_EQ(bn.running_mean.to_vector(), before);
  EXPECT_EQ(bn.num_batches_tracked.data<int64_t>()[0], 1);
}

TEST(Layers, PoolingAndFlattenShapes) {
  std::mt19937_64 rng(12);
  Tensor x = Tensor::uniform({2, 4, 7, 7}, rng, -1.0f, 1.0f);
  EXPECT_EQ(MaxPool2d(2).forward(x).shape(), (ops::Shape{2, 4, 3, 3}));
  EXPECT_EQ(MaxPool2d(2, {.ceil_mode = true}).forward(x).shape(), (ops::Shape{2, 4, 4, 4}));
  EXPECT_EQ(AvgPool2d(3, {.stride = 1, .padding = 1}).forward(x).shape(), x.shape());
  EXPECT_EQ(GlobalAvgPool2d().forward(x).shape(), (ops::Shape{2, 4, 1, 1}));
  EXPECT_EQ(Flatten().forward(x).shape(), (ops::Shape{2, 4 * 49}));
}

// Mean cross-entropy over a data set, eval mode, no graph.
double eval_loss(Module& net, const Dataset& ds) {
  ops::NoGradGuard no_grad;
  net.eval();
  BatchLoader loader(ds, 256, 0, 0, false);
  double total = 0;
  while (auto b = loader.next())
    total += ops::softmax_cross_entropy(net.forward(b->images), b->labels).item() *
             static_cast<double>(b->images.dim(0));
  net.train();
  return total / static_cast<double>(ds.size());
}

TEST(DeepConvNet, TrainsOnDigits) {
  const std::string p = std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz";
  if (!std::filesystem::exists(p)) GTEST_SKIP() << p << " is missing; run scripts/install-deps.sh";
  // One thread: on a shared, loaded machine OpenMP's spinning threads make
  // this tiny model many times slower, and the test is about learning.
  struct Threads {
    int saved = ops::cpu_threads();
    Threads() { ops::set_cpu_threads(1); }
    ~Threads() { ops::set_cpu_threads(saved); }
  } one_thread;
  Dataset ds = subset(load_digits_csv(p), 512);
  std::mt19937_64 rng(13);
  auto net =
      build_model("deep_convnet", {.in_channels = 1, .num_classes = 10, .image_size = 8}, rng);
  training::Adam opt(net->named_parameters(), {.lr = 3e-3});
  const double before = eval_loss(*net, ds);
  for (int epoch = 0; epoch < 8; ++epoch) {
    BatchLoader loader(ds, 32, 1, epoch);
    while (auto b = loader.next()) {
      opt.zero_grad();
      Tensor loss = ops::softmax_cross_entropy(net->forward(b->images), b->labels);
      loss.backward();
      for (const auto& [name, t] : net->named_parameters())
        ASSERT_TRUE(t.grad().defined()) << name << " got no gradient";
      opt.step();
    }
  }
  const double after = eval_loss(*net, ds);
  EXPECT_LT(after, 0.5 * before) << "loss " << before << " -> " << after;
}

TEST(DeepConvNet, CheckpointReplaceHeadAndFreeze) {
  namespace fs = std::filesystem;
  const fs::path file = fs::temp_directory_path() /
                        ("rm_deep_convnet_" + std::to_string(::getpid()) + ".safetensors");
  std::mt19937_64 ra(14), rb(15), rx(16);
  auto source = make_deep_convnet(1, 10, 28, ra);
  source->eval();
  Tensor x = Tensor::uniform({3, 1, 28, 28}, rx, 0.0f, 1.0f);
  save_safetensors(file.string(), source->state_dict(), {{"model", "deep_convnet"}});

  // Same architecture, other init: after loading, the same outputs.
  auto copy = make_deep_convnet(1, 10, 28, rb);
  copy->eval();
  SafetensorsFile ckpt = load_safetensors(file.string());
  fs::remove(file);
  EXPECT_EQ(ckpt.metadata.at("model"), "deep_convnet");
  copy->load_state_dict(ckpt.tensors);
  EXPECT_EQ(copy->forward(x).to_vector(), source->forward(x).to_vector());

  // A 5-class model cannot take the 10-class head...
  auto target = make_deep_convnet(1, 5, 28, rb);
  try {
    target->load_state_dict(ckpt.tensors, false);
    FAIL() << "no error";
  } catch (const ops::Error& e) {
    EXPECT_NE(std::string(e.what()).find("fc2.weight"), std::string::npos) << e.what();
  }
  // ...but takes the backbone once the head is left out, then fine-tunes it.
  TensorMap backbone = ckpt.tensors;
  backbone.erase("fc2.weight");
  backbone.erase("fc2.bias");
  LoadStateResult r = target->load_state_dict(backbone, false);
  EXPECT_EQ(r.missing, (std::vector<std::string>{"fc2.weight", "fc2.bias"}));
  EXPECT_EQ(target->freeze("conv*"), 12u);
  EXPECT_EQ(target->num_parameters(true), (1024 * 50 + 50) + (50 * 5 + 5));
  // Replacing the head by name keeps its place in the forward order.
  target->register_module("fc2", std::make_shared<Linear>(50, 3, rb));
  target->eval();
  EXPECT_EQ(target->forward(x).shape(), (ops::Shape{3, 3}));
}

}  // namespace
}  // namespace ringmaster::models

namespace ringmaster::models {
namespace {

TEST(DeepConvNet, DropoutZeroLeavesTheDropoutLayersOutAndKeepsTheParameters) {
  std::mt19937_64 rng(3);
  const ModelConfig cfg{.in_channels = 1, .num_classes = 10, .image_size = 28};
  auto with = build_model("deep_convnet", cfg, rng);
  auto without = build_model("deep_convnet", cfg, rng, {{"dropout", 0}});
  EXPECT_EQ(with->num_parameters(), without->num_parameters());
  ops::Tensor x = ops::Tensor::randn({2, 1, 28, 28}, rng);
  without->train(true);
  // No dropout: two training-mode passes agree.
  EXPECT_EQ(without->forward(x).to_vector(), without->forward(x).to_vector());
  EXPECT_THROW(build_model("deep_convnet", cfg, rng, {{"dropout", 1.5}}), ops::Error);
}

TEST(Mlp, LayersParametersAndShapes) {
  std::mt19937_64 rng(5);
  const ModelConfig cfg{.in_channels = 1, .num_classes = 10, .image_size = 8};
  auto net = build_model("mlp", cfg, rng, {{"hidden", {64, 32}}});
  // 64*64+64 + 64*32+32 + 32*10+10
  EXPECT_EQ(net->num_parameters(), 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10);
  EXPECT_EQ(net->named_parameters().front().first, "fc1.weight");
  EXPECT_EQ(net->named_parameters().back().first, "fc3.bias");
  ops::Tensor y = net->forward(ops::Tensor::randn({3, 1, 8, 8}, rng));
  EXPECT_EQ(y.shape(), (ops::Shape{3, 10}));
  auto softmax_regression = build_model("mlp", cfg, rng, {{"hidden", nlohmann::json::array()}});
  EXPECT_EQ(softmax_regression->num_parameters(), 64 * 10 + 10);
  EXPECT_THROW(build_model("mlp", cfg, rng, {{"hidden", {0}}}), ops::Error);
  EXPECT_THROW(build_model("mlp", cfg, rng, {{"hidden", "wide"}}), ops::Error);
}

}  // namespace
}  // namespace ringmaster::models
