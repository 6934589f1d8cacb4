// googlenet: torchvision's parameter count without auxiliary heads
// (6,624,904), the paper's LRN variant (5x5 branches, biases), torchvision's
// names, forward shapes of the imagenet variants at 64 px and the small
// variant at 28 and 32 px, and option validation.
#include "models/googlenet.h"

#include <gtest/gtest.h>

#include "models/model_registry.h"

namespace ringmaster::models {
namespace {

using ops::Tensor;

std::shared_ptr<Module> googlenet(const nlohmann::json& options, ModelConfig cfg) {
  std::mt19937_64 rng(1);
  return build_model("googlenet", cfg, rng, options);
}

const ModelConfig kImageNet{.in_channels = 3, .num_classes = 1000, .image_size = 224};

TEST(GoogLeNet, TorchvisionParameterCountWithoutAuxHeads) {
  EXPECT_EQ(googlenet({}, kImageNet)->num_parameters(), 6624904);
}

TEST(GoogLeNet, PaperVariantWithLrn) {
  // Biased convs, true 5x5 branches, no batch norm: 6,998,552 (counted from
  // the paper's table 1 widths).
  auto net = googlenet({{"norm", "lrn"}}, kImageNet);
  EXPECT_EQ(net->num_parameters(), 6998552);
  EXPECT_TRUE(net->named_buffers().empty());
  EXPECT_EQ(net->state_dict().at("inception3a.branch3.1.conv.weight").shape(),
            (ops::Shape{32, 16, 5, 5}));
}

TEST(GoogLeNet, TorchvisionNames) {
  const TensorMap sd = googlenet({}, kImageNet)->state_dict();
  for (const char* n :
       {"conv1.conv.weight", "conv1.bn.running_mean", "conv3.bn.weight",
        "inception3a.branch1.conv.weight", "inception3a.branch2.1.conv.weight",
        "inception4e.branch3.0.bn.bias", "inception5b.branch4.1.conv.weight", "fc.weight"})
    EXPECT_TRUE(sd.count(n)) << n;
  EXPECT_EQ(sd.at("inception3a.branch3.1.conv.weight").shape(), (ops::Shape{32, 16, 3, 3}));
}

TEST(GoogLeNet, ForwardShapes) {
  std::mt19937_64 rng(2);
  const ModelConfig rgb64{.in_channels = 3, .num_classes = 5, .image_size = 64};
  for (const char* norm : {"batch_norm", "lrn"}) {
    auto net = googlenet({{"variant", "imagenet"}, {"norm", norm}}, rgb64);
    net->eval();
    EXPECT_EQ(net->forward(Tensor::uniform({1, 3, 64, 64}, rng, 0, 1)).shape(), (ops::Shape{1, 5}))
        << norm;
  }
  for (int size : {28, 32}) {
    auto net = googlenet({}, {.in_channels = 1, .num_classes = 10, .image_size = size});
    EXPECT_EQ(net->forward(Tensor::uniform({2, 1, size, size}, rng, 0, 1)).shape(),
              (ops::Shape{2, 10}))
        << size;
    EXPECT_TRUE(net->state_dict().count("inception4b.branch4.1.conv.weight"));
  }
}

TEST(GoogLeNet, OptionsAreValidated) {
  std::vector<SpecProblem> problems;
  {
    SpecReader r(nlohmann::json{{"variant", "small"}, {"norm", "lrn"}}, "/model", problems);
    GoogLeNetOptions o;
    read_googlenet_options(r, o);
  }
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "/model/norm");
  EXPECT_THROW(
      googlenet({{"variant", "imagenet"}}, {.in_channels = 1, .num_classes = 10, .image_size = 28}),
      ops::Error);
}

}  // namespace
}  // namespace ringmaster::models
