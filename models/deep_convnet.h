// deep_convnet: the stacked-3x3 network of "Deep Learning from Scratch"
// (Saitoh, ch. 8) for small grey images: six 3x3 convs (16, 16, 32, 32, 64,
// 64) with ReLU and a 2x2 max pool after every second one, then fc 50 + ReLU
// + dropout 0.5 and fc num_classes + dropout 0.5. He-initialised. It does
// not include the softmax: the loss does that.
#pragma once

#include <memory>
#include <random>

#include "models/model_registry.h"
#include "models/module.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

// Input (N, in_channels, image_size, image_size) -> logits (N, num_classes).
//
// Layers (names as a PyTorch reader of our safetensors would write them):
//   conv1 3x3 in->16 pad 1, relu   conv2 3x3 16->16 pad 1, relu   pool1 max 2
//   conv3 3x3 16->32 pad 1, relu   conv4 3x3 32->32 pad 2, relu   pool2 max 2
//   conv5 3x3 32->64 pad 1, relu   conv6 3x3 64->64 pad 1, relu   pool3 max 2
//   flatten; fc1 (64*S*S)->50, relu; drop1 0.5; fc2 50->num_classes; drop2 0.5
// where S is the spatial size after pool3 (4 for 28x28: 28 28 14 14 16 8 8 8 4).
// Parameters: conv1.weight (16, in, 3, 3), conv1.bias (16), ..., fc1.weight
// (50, 64*S*S), fc1.bias, fc2.weight (num_classes, 50), fc2.bias.
// Every conv+relu pair is one Conv2d with fuse_relu and fc1+relu one Linear
// with fuse_relu: the same numbers as separate ReLU layers (relu is applied
// to the same output), one pass fewer, and no parameter changes.
// Throws ops::Error when image_size is too small to survive the three pools.
// The result is a Sequential; its children can be replaced by name
// (register_module("fc2", ...)) for fine-tuning.
// `dropout`: the rate of drop1 and drop2 (0: the two layers are left out).
std::shared_ptr<Module> make_deep_convnet(int in_channels, int num_classes, int image_size,
                                          std::mt19937_64& rng, double dropout = 0.5);

// The registry's entry. Spec: {"name": "deep_convnet", "dropout": 0.5}.
struct DeepConvNetOptions {
  double dropout = 0.5;  // drop1 and drop2; 0 leaves them out
};
void read_deep_convnet_options(SpecReader& r, DeepConvNetOptions& o);
std::shared_ptr<Module> make_deep_convnet(const DeepConvNetOptions& o, const ModelConfig& cfg,
                                          std::mt19937_64& rng);

// The flattened feature size 64*S*S that fc1 sees (0 when too small).
int64_t deep_convnet_feature_size(int image_size);

}  // namespace ringmaster::models
