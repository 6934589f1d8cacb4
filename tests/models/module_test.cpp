// Module bookkeeping with toy modules that call no op: dotted names, mode,
// freezing by glob, state dicts and shape-checked loading.
#include "models/module.h"

#include <gtest/gtest.h>

namespace ringmaster::models {
namespace {

using ops::Tensor;

class Leaf : public Module {
 public:
  Leaf(int64_t out, int64_t in, bool with_buffer = false) {
    weight = register_parameter("weight", Tensor::full({out, in}, 1.0f));
    bias = register_parameter("bias", Tensor::zeros({out}));
    if (with_buffer) register_buffer("running_mean", Tensor::zeros({out}));
  }
  Tensor forward(const Tensor& x) override { return x; }
  Tensor weight, bias;
};

class Block : public Module {
 public:
  Block() {
    register_module("0", std::make_shared<Leaf>(4, 3, true));
    register_module("1", std::make_shared<Leaf>(2, 4));
  }
  Tensor forward(const Tensor& x) override { return x; }
};

class Net : public Module {
 public:
  Net() {
    register_parameter("scale", Tensor::full({1}, 2.0f));
    register_module("features", std::make_shared<Block>());
    register_module("head", std::make_shared<Leaf>(5, 2));
  }
  Tensor forward(const Tensor& x) override { return x; }
};

std::vector<std::string> names(const NamedTensors& v) {
  std::vector<std::string> out;
  for (const auto& [n, t] : v) out.push_back(n);
  return out;
}

TEST(Module, HierarchicalNames) {
  Net net;
  EXPECT_EQ(names(net.named_parameters()),
            (std::vector<std::string>{"scale", "features.0.weight", "features.0.bias",
                                      "features.1.weight", "features.1.bias", "head.weight",
                                      "head.bias"}));
  EXPECT_EQ(names(net.named_buffers()), (std::vector<std::string>{"features.0.running_mean"}));
  EXPECT_EQ(net.parameters().size(), 7u);
  EXPECT_EQ(net.num_parameters(), 1 + (12 + 4) + (8 + 2) + (10 + 5));
  std::vector<std::string> modules;
  for (auto& [n, m] : net.named_modules()) modules.push_back(n);
  EXPECT_EQ(modules,
            (std::vector<std::string>{"", "features", "features.0", "features.1", "head"}));
}

TEST(Module, ParametersRequireGradBuffersDoNot) {
  Net net;
  for (auto& [n, t] : net.named_parameters()) EXPECT_TRUE(t.requires_grad()) << n;
  for (auto& [n, t] : net.named_buffers()) EXPECT_FALSE(t.requires_grad()) << n;
}

TEST(Module, HandlesShareStorage) {
  Net net;
  Tensor w = net.named_parameters()[1].second;
  w.data<float>()[0] = 42.0f;
  auto leaf = std::dynamic_pointer_cast<Leaf>(
      std::dynamic_pointer_cast<Block>(net.child("features"))->child("0"));
  ASSERT_NE(leaf, nullptr);
  EXPECT_EQ(leaf->weight.data<float>()[0], 42.0f);
  EXPECT_EQ(net.state_dict().at("features.0.weight").data<float>()[0], 42.0f);
}

TEST(Module, TrainEvalIsRecursive) {
  Net net;
  EXPECT_TRUE(net.is_training());
  net.eval();
  for (auto& [n, m] : net.named_modules()) EXPECT_FALSE(m->is_training()) << n;
  net.train();
  for (auto& [n, m] : net.named_modules()) EXPECT_TRUE(m->is_training()) << n;
}

TEST(Module, GlobMatch) {
  EXPECT_TRUE(glob_match("features.*", "features.0.weight"));
  EXPECT_TRUE(glob_match("*.bias", "features.1.bias"));
  EXPECT_TRUE(glob_match("features.?.weight", "features.1.weight"));
  EXPECT_FALSE(glob_match("features.?.weight", "features.10.weight"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYbZc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
  EXPECT_FALSE(glob_match("head", "head.weight"));
  EXPECT_TRUE(glob_match("head.weight", "head.weight"));
}

TEST(Module, FreezeAndUnfreezeByPattern) {
  Net net;
  EXPECT_EQ(net.freeze("features.*"), 4u);
  for (auto& [n, t] : net.named_parameters())
    EXPECT_EQ(t.requires_grad(), n.rfind("features.", 0) != 0) << n;
  EXPECT_EQ(net.num_parameters(true), 1 + 15);
  EXPECT_EQ(net.unfreeze("features.?.bias"), 2u);
  for (auto& [n, t] : net.named_parameters())
    EXPECT_EQ(t.requires_grad(),
              n.find("weight") == std::string::npos || n.rfind("features.", 0) != 0)
        << n;
  EXPECT_EQ(net.freeze("nothing*"), 0u);
}

TEST(Module, StateDictRoundTrip) {
  Net a, b;
  for (auto& [n, t] : a.named_parameters()) {
    float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(i) + 0.5f;
  }
  a.named_buffers()[0].second.data<float>()[3] = 7.0f;
  TensorMap sd = a.state_dict();
  EXPECT_EQ(sd.size(), 8u);
  Tensor held = b.named_parameters()[1].second;  // e.g. an optimizer's handle
  LoadStateResult r = b.load_state_dict(sd);
  EXPECT_TRUE(r.missing.empty());
  EXPECT_TRUE(r.unexpected.empty());
  for (auto& [n, t] : b.state_dict()) EXPECT_EQ(t.to_vector(), sd.at(n).to_vector()) << n;
  EXPECT_EQ(held.data<float>()[1], 1.5f);  // loaded in place
}

TEST(Module, LoadStateDictShapeMismatchNamesBoth) {
  Net a;
  TensorMap sd = a.state_dict();
  sd["head.weight"] = Tensor::zeros({3, 2});
  try {
    a.load_state_dict(sd);
    FAIL() << "no error";
  } catch (const ops::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("head.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(5, 2)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("(3, 2)"), std::string::npos) << msg;
  }
  // Nothing was copied before the error.
  EXPECT_EQ(a.state_dict().at("scale").item(), 2.0f);
  // Non-strict does not forgive a shape mismatch either.
  EXPECT_THROW(a.load_state_dict(sd, false), ops::Error);
}

TEST(Module, LoadStateDictStrictness) {
  Net a;
  TensorMap sd = a.state_dict();
  sd.erase("head.bias");
  sd["extra.weight"] = Tensor::zeros({1});
  try {
    a.load_state_dict(sd, true);
    FAIL() << "no error";
  } catch (const ops::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("head.bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("extra.weight"), std::string::npos) << msg;
  }
  LoadStateResult r = a.load_state_dict(sd, false);
  EXPECT_EQ(r.missing, std::vector<std::string>{"head.bias"});
  EXPECT_EQ(r.unexpected, std::vector<std::string>{"extra.weight"});
}

TEST(Module, LoadStateDictConvertsHalf) {
  Net a;
  TensorMap sd = a.state_dict();
  Tensor h = Tensor::empty({1}, ops::DType::f16);
  h.data<uint16_t>()[0] = 0x4200;  // 3.0 in binary16
  sd["scale"] = h;
  a.load_state_dict(sd);
  EXPECT_EQ(a.state_dict().at("scale").item(), 3.0f);
  sd["scale"] = Tensor::zeros({1}, ops::DType::i64);
  EXPECT_THROW(a.load_state_dict(sd), ops::Error);
}

TEST(Module, ReplaceChildKeepsPosition) {
  Net net;
  net.register_module("features", std::make_shared<Leaf>(1, 1));
  EXPECT_EQ(names(net.named_parameters()),
            (std::vector<std::string>{"scale", "features.weight", "features.bias", "head.weight",
                                      "head.bias"}));
}

TEST(Module, ToTheSameDeviceKeepsHandlesAndStorage) {
  Block b;
  Tensor w = b.named_parameters()[0].second;
  const Tensor before = w.detach();
  b.to(ops::Device::cpu());
  EXPECT_TRUE(w.same_storage(before));
  EXPECT_TRUE(b.device().is_cpu());
}

TEST(Module, SetDataSwapsStorageUnderEveryHandle) {
  // What Module::to does per tensor: every handle of the parameter sees the
  // new storage; requires_grad and grad survive.
  Block b;
  Tensor handle = b.named_parameters()[0].second;
  Tensor other = b.state_dict().at("0.weight");  // a detached view: keeps the old storage
  handle.set_grad(Tensor::full(handle.shape(), 2.0f));
  Tensor replacement = Tensor::full(handle.shape(), 5.0f);
  handle.set_data(replacement);
  Tensor again = b.named_parameters()[0].second;
  EXPECT_TRUE(again.same_storage(replacement));
  EXPECT_EQ(again.to_vector()[0], 5.0f);
  EXPECT_TRUE(again.requires_grad());
  EXPECT_EQ(again.grad().to_vector()[0], 2.0f);
  EXPECT_EQ(other.to_vector()[0], 1.0f);
}

}  // namespace
}  // namespace ringmaster::models
