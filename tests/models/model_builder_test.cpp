// build_model_from_spec: transfer learning (init from a checkpoint with
// include/exclude globs, a fresh head, shape mismatches named by parameter,
// freezing, and a proof that frozen parameters do not change under training::SGD with
// momentum and weight decay or training::AdamW) and ensembles (averaged probabilities,
// members loaded from checkpoints are frozen).
#include "models/model_builder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "models/ensemble.h"
#include "models/safetensors.h"
#include "ops/softmax.h"
#include "training/optimizer.h"

namespace ringmaster::models {
namespace {

using ops::Tensor;
namespace fs = std::filesystem;

const ModelConfig kCfg{.in_channels = 1, .num_classes = 10, .image_size = 12};

// A temporary checkpoint of a seeded resnet-20 (10 classes), removed at scope end.
struct Checkpoint {
  fs::path path;
  std::shared_ptr<Module> source;
  explicit Checkpoint(const std::string& tag, uint64_t seed = 1) {
    path = fs::temp_directory_path() /
           ("rm_builder_" + tag + "_" + std::to_string(::getpid()) + ".safetensors");
    std::mt19937_64 rng(seed);
    source = build_model("resnet", kCfg, rng, {{"depth", 20}});
    save_safetensors(path.string(), source->state_dict());
  }
  ~Checkpoint() { fs::remove(path); }
};

ModelSpec resnet_spec() {
  ModelSpec s;
  s.name = "resnet";
  s.options = {{"depth", 20}};
  return s;
}

TEST(Transfer, InitFromCheckpointWithFreshHeadAndFreeze) {
  Checkpoint ckpt("head");
  ModelSpec spec = resnet_spec();
  spec.init.checkpoint = ckpt.path.string();
  spec.init.replace_head = true;
  spec.freeze = {"conv1.*", "bn1.*", "layer1.*"};
  std::mt19937_64 rng(99);
  std::vector<std::string> log;
  ModelConfig five = kCfg;
  five.num_classes = 5;
  auto model = build_model_from_spec(spec, five, rng, &log);
  const TensorMap got = model->state_dict(), want = ckpt.source->state_dict();
  for (const auto& [name, t] : got) {
    if (name.starts_with("fc.") || t.dtype() != ops::DType::f32) continue;
    EXPECT_EQ(t.to_vector(), want.at(name).to_vector()) << name;
  }
  EXPECT_EQ(got.at("fc.weight").shape(), (ops::Shape{5, 64}));
  // Frozen: conv1 (1), bn1 (2), layer1: 3 blocks x (2 convs + 2 bns x 2).
  int64_t frozen = 0;
  for (const auto& [name, p] : model->named_parameters()) frozen += !p.requires_grad();
  EXPECT_EQ(frozen, 1 + 2 + 3 * 6);
  ASSERT_GE(log.size(), 3u);
  EXPECT_NE(log[0].find("fresh head 'fc'"), std::string::npos) << log[0];
}

TEST(Transfer, ShapeMismatchIsNamedAndIncludeExcludeSelect) {
  Checkpoint ckpt("mismatch");
  ModelSpec spec = resnet_spec();
  spec.init.checkpoint = ckpt.path.string();
  std::mt19937_64 rng(5);
  ModelConfig five = kCfg;
  five.num_classes = 5;
  try {
    build_model_from_spec(spec, five, rng);
    FAIL() << "no error";
  } catch (const ops::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("'fc.weight'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(5, 64)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(10, 64)"), std::string::npos) << msg;
  }
  // Only layer3, and not its batch norms.
  spec.init.include = {"layer3.*"};
  spec.init.exclude = {"*.bn*"};
  auto model = build_model_from_spec(spec, five, rng);
  const TensorMap got = model->state_dict(), want = ckpt.source->state_dict();
  EXPECT_EQ(got.at("layer3.0.conv1.weight").to_vector(),
            want.at("layer3.0.conv1.weight").to_vector());
  EXPECT_NE(got.at("layer2.0.conv1.weight").to_vector(),
            want.at("layer2.0.conv1.weight").to_vector());
  EXPECT_EQ(got.at("layer3.0.bn1.running_var").to_vector(), std::vector<float>(64, 1.0f));
  spec.init.include = {"nothing.*"};
  EXPECT_THROW(build_model_from_spec(spec, five, rng), ops::Error);
  spec.init.include = {"*"};
  spec.init.checkpoint = "/nonexistent/x.safetensors";
  EXPECT_THROW(build_model_from_spec(spec, five, rng), ops::Error);
}

TEST(Transfer, FrozenParametersDoNotChange) {
  ModelSpec spec = resnet_spec();
  spec.freeze = {"conv1.*", "layer1.*", "layer2.0.conv*"};
  for (const char* opt : {"sgd", "adamw"}) {
    std::mt19937_64 rng(7), data(8);
    auto model = build_model_from_spec(spec, kCfg, rng);
    const TensorMap before = [&] {
      TensorMap copy;
      for (const auto& [n, t] : model->named_parameters()) copy.emplace(n, t.clone());
      return copy;
    }();
    std::unique_ptr<training::Optimizer> o;
    if (std::string(opt) == "sgd") {
      o = std::make_unique<training::SGD>(
          model->named_parameters(),
          training::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01});
    } else {
      o = std::make_unique<training::AdamW>(model->named_parameters(),
                                            training::AdamOptions{.lr = 0.01, .weight_decay = 0.1});
    }
    Tensor labels = Tensor::empty({4}, ops::DType::i64);
    for (int i = 0; i < 4; ++i) labels.data<int64_t>()[i] = i;
    for (int step = 0; step < 3; ++step) {
      o->zero_grad();
      ops::softmax_cross_entropy(model->forward(Tensor::uniform({4, 1, 12, 12}, data, 0, 1)),
                                 labels)
          .backward();
      o->step();
    }
    int64_t frozen = 0, moved = 0;
    for (const auto& [name, p] : model->named_parameters()) {
      const bool same = p.to_vector() == before.at(name).to_vector();
      if (!p.requires_grad()) {
        ++frozen;
        EXPECT_TRUE(same) << opt << ": frozen " << name << " changed";
      } else {
        moved += !same;
      }
    }
    EXPECT_EQ(frozen, 1 + 3 * 6 + 2) << opt;
    EXPECT_GT(moved, 20) << opt;
  }
}

TEST(Ensemble, AveragesMemberProbabilities) {
  Checkpoint ckpt("member", 3);
  ModelSpec spec;
  spec.name = "ensemble";
  ModelSpec loaded = resnet_spec();
  loaded.checkpoint = ckpt.path.string();
  ModelSpec fresh;
  fresh.name = "deep_convnet";
  spec.ensemble = {loaded, fresh};
  std::mt19937_64 rng(11), data(12);
  ModelConfig cfg = kCfg;
  cfg.image_size = 12;
  auto model = build_model_from_spec(spec, cfg, rng);
  auto* e = dynamic_cast<Ensemble*>(model.get());
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ(e->member(0)->num_parameters(true), 0);  // loaded members are frozen
  EXPECT_GT(e->member(1)->num_parameters(true), 0);
  EXPECT_TRUE(model->state_dict().count("0.layer3.2.conv2.weight"));
  EXPECT_TRUE(model->state_dict().count("1.fc2.bias"));
  model->eval();
  Tensor x = Tensor::uniform({3, 1, 12, 12}, data, 0, 1);
  const std::vector<float> got = model->forward(x).to_vector();  // (3, 10) log probabilities
  EXPECT_FALSE(model->forward(x).grad_fn());
  const std::vector<float> p0 = ops::softmax(e->member(0)->forward(x), 1).to_vector();
  const std::vector<float> p1 = ops::softmax(e->member(1)->forward(x), 1).to_vector();
  for (int64_t i = 0; i < 3; ++i) {
    double row = 0;
    for (int64_t j = 0; j < 10; ++j) {
      const size_t k = static_cast<size_t>(i * 10 + j);
      EXPECT_NEAR(std::exp(got[k]), 0.5 * (p0[k] + p1[k]), 1e-6);
      row += std::exp(got[k]);
    }
    EXPECT_NEAR(row, 1.0, 1e-5);
  }
}

}  // namespace
}  // namespace ringmaster::models
