// resnet: torchvision's published parameter counts (18, 34, 50 at 1000
// classes), torchvision's state-dict names, the CIFAR layout's counts
// (option A and B), forward shapes at small sizes, a backward that reaches
// every parameter, and option validation by JSON pointer.
#include "models/resnet.h"

#include <gtest/gtest.h>

#include <set>

#include "models/model_registry.h"
#include "ops/softmax.h"

namespace ringmaster::models {
namespace {

using ops::Tensor;

std::shared_ptr<Module> resnet(const nlohmann::json& options, ModelConfig cfg, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  return build_model("resnet", cfg, rng, options);
}

const ModelConfig kImageNet{.in_channels = 3, .num_classes = 1000, .image_size = 224};

TEST(ResNet, TorchvisionParameterCounts) {
  EXPECT_EQ(resnet({{"depth", 18}}, kImageNet)->num_parameters(), 11689512);
  EXPECT_EQ(resnet({{"depth", 34}}, kImageNet)->num_parameters(), 21797672);
  EXPECT_EQ(resnet({{"depth", 50}}, kImageNet)->num_parameters(), 25557032);
}

TEST(ResNet, TorchvisionStateDictNames) {
  auto net = resnet({{"depth", 18}}, kImageNet);
  const TensorMap sd = net->state_dict();
  EXPECT_EQ(sd.size(), 122u);  // len(torchvision.models.resnet18().state_dict())
  for (const char* name :
       {"conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer1.1.bn2.bias",
        "layer2.0.downsample.0.weight", "layer2.0.downsample.1.num_batches_tracked",
        "layer4.1.conv2.weight", "fc.weight", "fc.bias"}) {
    EXPECT_TRUE(sd.count(name)) << name;
  }
  EXPECT_EQ(sd.at("layer4.1.conv2.weight").shape(), (ops::Shape{512, 512, 3, 3}));
  auto r50 = resnet({{"depth", 50}}, kImageNet);
  EXPECT_EQ(r50->state_dict().at("layer1.0.conv3.weight").shape(), (ops::Shape{256, 64, 1, 1}));
  EXPECT_EQ(r50->state_dict().at("fc.weight").shape(), (ops::Shape{1000, 2048}));
}

TEST(ResNet, CifarLayoutCounts) {
  // He et al. 2015, table 6: ResNet-20 has 0.27M parameters (option A).
  const ModelConfig cifar{.in_channels = 3, .num_classes = 10, .image_size = 32};
  EXPECT_EQ(resnet({{"depth", 20}}, cifar)->num_parameters(), 269722);
  EXPECT_EQ(resnet({{"depth", 32}}, cifar)->num_parameters(), 464154);
  EXPECT_EQ(resnet({{"depth", 56}}, cifar)->num_parameters(), 853018);
  // Option B adds two 1x1 projections with batch norm: 16*32 + 64 and 32*64 + 128.
  EXPECT_EQ(resnet({{"depth", 20}, {"shortcut", "B"}}, cifar)->num_parameters(),
            269722 + 16 * 32 + 64 + 32 * 64 + 128);
  // depth 50 with layout cifar is 6*8+2.
  EXPECT_EQ(resnet({{"depth", 50}, {"layout", "cifar"}}, cifar)
                ->state_dict()
                .count("layer3.7.bn2.weight"),
            1u);
}

TEST(ResNet, ForwardShapesAtSmallSizes) {
  std::mt19937_64 rng(3);
  const ModelConfig fashion{.in_channels = 1, .num_classes = 10, .image_size = 28};
  for (int depth : {20, 32, 56}) {
    auto net = resnet({{"depth", depth}}, fashion);
    EXPECT_EQ(net->forward(Tensor::uniform({2, 1, 28, 28}, rng, 0, 1)).shape(), (ops::Shape{2, 10}))
        << depth;
  }
  const ModelConfig small_rgb{.in_channels = 3, .num_classes = 7, .image_size = 32};
  for (int depth : {18, 50}) {
    auto net = resnet({{"depth", depth}}, small_rgb);
    net->eval();
    EXPECT_EQ(net->forward(Tensor::uniform({1, 3, 32, 32}, rng, 0, 1)).shape(), (ops::Shape{1, 7}))
        << depth;
  }
}

TEST(ResNet, BackwardReachesEveryParameter) {
  std::mt19937_64 rng(4);
  auto net = resnet({{"depth", 20}}, {.in_channels = 1, .num_classes = 10, .image_size = 12});
  Tensor x = Tensor::uniform({3, 1, 12, 12}, rng, 0, 1);
  Tensor labels = Tensor::empty({3}, ops::DType::i64);
  for (int i = 0; i < 3; ++i) labels.data<int64_t>()[i] = i;
  ops::softmax_cross_entropy(net->forward(x), labels).backward();
  for (const auto& [name, p] : net->named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    double s = 0;
    for (float g : p.grad().to_vector()) s += std::fabs(g);
    EXPECT_GT(s, 0.0) << name;
  }
}

TEST(ResNet, OptionsAreValidatedByPointer) {
  std::vector<SpecProblem> problems;
  {
    SpecReader r(nlohmann::json{{"depth", 19}, {"shortcut", "C"}, {"bogus", 1}}, "/model",
                 problems);
    ResNetOptions o;
    read_resnet_options(r, o);
  }
  std::set<std::string> pointers;
  for (const auto& p : problems) pointers.insert(p.pointer);
  EXPECT_EQ(pointers, (std::set<std::string>{"/model/depth", "/model/shortcut", "/model/bogus"}));
  EXPECT_THROW(resnet({{"depth", 18}}, {.in_channels = 1, .num_classes = 10, .image_size = 16}),
               ops::Error);
}

}  // namespace
}  // namespace ringmaster::models
