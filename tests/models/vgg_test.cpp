// vgg: torchvision's parameter counts (11, 16 at 224 px, 1000 classes) and
// state-dict names, a custom stack, ceil_mode for 28 px, forward shapes,
// and option validation by JSON pointer.
#include "models/vgg.h"

#include <gtest/gtest.h>

#include "error_of.h"
#include "models/model_registry.h"

namespace ringmaster::models {
namespace {

using ops::Tensor;

std::shared_ptr<Module> vgg(const nlohmann::json& options, ModelConfig cfg) {
  std::mt19937_64 rng(1);
  return build_model("vgg", cfg, rng, options);
}

const ModelConfig kImageNet{.in_channels = 3, .num_classes = 1000, .image_size = 224};

TEST(Vgg, TorchvisionParameterCountsAndNames) {
  EXPECT_EQ(vgg({{"depth", 11}}, kImageNet)->num_parameters(), 132863336);
  auto v16 = vgg({{"depth", 16}}, kImageNet);
  EXPECT_EQ(v16->num_parameters(), 138357544);
  std::vector<std::string> names;
  for (const auto& [n, t] : v16->named_parameters()) names.push_back(n);
  const std::vector<std::string> want = {
      "features.0.weight",   "features.0.bias",   "features.2.weight",   "features.2.bias",
      "features.5.weight",   "features.5.bias",   "features.7.weight",   "features.7.bias",
      "features.10.weight",  "features.10.bias",  "features.12.weight",  "features.12.bias",
      "features.14.weight",  "features.14.bias",  "features.17.weight",  "features.17.bias",
      "features.19.weight",  "features.19.bias",  "features.21.weight",  "features.21.bias",
      "features.24.weight",  "features.24.bias",  "features.26.weight",  "features.26.bias",
      "features.28.weight",  "features.28.bias",  "classifier.0.weight", "classifier.0.bias",
      "classifier.3.weight", "classifier.3.bias", "classifier.6.weight", "classifier.6.bias"};
  EXPECT_EQ(names, want);
  EXPECT_EQ(v16->state_dict().at("classifier.0.weight").shape(), (ops::Shape{4096, 25088}));
}

TEST(Vgg, BatchNormNamesFollowTorchvision) {
  auto net = vgg({{"depth", 11}, {"batch_norm", true}, {"classifier_width", 16}},
                 {.in_channels = 3, .num_classes = 10, .image_size = 32});
  const TensorMap sd = net->state_dict();
  // vgg11_bn: conv 0, bn 1, relu 2, pool 3, conv 4, bn 5 ...
  for (const char* n : {"features.0.weight", "features.1.running_mean", "features.4.weight",
                        "features.5.weight", "classifier.6.bias"})
    EXPECT_TRUE(sd.count(n)) << n;
}

TEST(Vgg, ForwardShapesCustomStackAndCeilMode) {
  std::mt19937_64 rng(2);
  auto net = vgg({{"depth", 16}, {"classifier_width", 32}},
                 {.in_channels = 3, .num_classes = 10, .image_size = 32});
  EXPECT_EQ(net->forward(Tensor::uniform({2, 3, 32, 32}, rng, 0, 1)).shape(), (ops::Shape{2, 10}));
  // 28 px survives five pools only with ceil_mode.
  const ModelConfig fashion{.in_channels = 1, .num_classes = 10, .image_size = 28};
  EXPECT_THROW(vgg({{"depth", 11}}, fashion), ops::Error);
  auto ceil = vgg({{"depth", 11}, {"ceil_mode", true}, {"classifier_width", 32}}, fashion);
  EXPECT_EQ(ceil->forward(Tensor::uniform({2, 1, 28, 28}, rng, 0, 1)).shape(), (ops::Shape{2, 10}));
  auto custom = vgg({{"stack", {16, "M", 32, 32, "M"}}, {"classifier_width", 20}}, fashion);
  // 16*1*9+16 + 32*16*9+32 + 32*32*9+32 + (32*7*7*20+20) + (20*20+20) + (20*10+10)
  EXPECT_EQ(custom->num_parameters(), 160 + 4640 + 9248 + 31380 + 420 + 210);
  EXPECT_EQ(custom->forward(Tensor::uniform({1, 1, 28, 28}, rng, 0, 1)).shape(),
            (ops::Shape{1, 10}));
}

// A ceil-mode 2x2/2 pool keeps 1 px (as PyTorch's does): 8 px goes through
// five (8 4 2 1 1 1) and the net runs. Without ceil_mode the fourth finds
// no whole window, which the model refuses when built, naming the way out.
TEST(Vgg, ACeilModeStackKeepsOnePixelAndAFloorModeOneTooDeepIsRefused) {
  const ModelConfig digits{.in_channels = 1, .num_classes = 10, .image_size = 8};
  std::mt19937_64 rng(3);
  auto five =
      vgg({{"stack", {4, "M", "M", "M", "M", "M"}}, {"ceil_mode", true}, {"classifier_width", 4}},
          digits);
  EXPECT_EQ(five->forward(Tensor::uniform({2, 1, 8, 8}, rng, 0, 1)).shape(), (ops::Shape{2, 10}));
  EXPECT_NO_THROW(vgg({{"stack", {"M", "M", "M"}}, {"classifier_width", 4}}, digits));
  const std::string e = error_of([&] {
    vgg({{"stack", {"M", "M", "M", "M"}}, {"classifier_width", 4}}, digits);
  });
  EXPECT_NE(
      e.find("image_size 8 does not survive the stack's pools (set ceil_mode, or a shorter stack)"),
      std::string::npos)
      << e;
}

TEST(Vgg, OptionsAreValidatedByPointer) {
  std::vector<SpecProblem> problems;
  {
    SpecReader r(nlohmann::json{{"depth", 12}, {"stack", {64, "X"}}, {"dropout", 2}}, "/model",
                 problems);
    VggOptions o;
    read_vgg_options(r, o);
  }
  std::vector<std::string> pointers;
  for (const auto& p : problems) pointers.push_back(p.pointer);
  EXPECT_EQ(pointers,
            (std::vector<std::string>{"/model/depth", "/model/stack/1", "/model/dropout"}));
}

}  // namespace
}  // namespace ringmaster::models
