// resnet: residual networks of He et al. (2015), in two layouts picked by
// depth. ImageNet layout (18, 34 basic blocks; 50, 101, 152 bottleneck):
// torchvision's, parameter for parameter (7x7/2 stem, max pool, four stages
// 64-512 wide, projection shortcuts, global average pool, fc). CIFAR layout
// (depth 6n+2: 20, 32, 44, 56, 110): a 3x3 stem and three stages of n basic
// blocks 16, 32, 64 wide, with parameter-free option-A shortcuts (subsample,
// zero channels) or option-B projections. No softmax; no pretrained weights.
#pragma once

#include <memory>
#include <random>
#include <string>

#include "models/model_registry.h"
#include "models/module.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

struct ResNetOptions {
  int64_t depth = 18;
  std::string layout = "auto";    // "imagenet" | "cifar" | "auto" (by depth; 50 is imagenet)
  std::string shortcut = "auto";  // "A" | "B" | "auto" (cifar: A, imagenet: B)
  int64_t width = 0;              // first stage width; 0: 64 (imagenet) or 16 (cifar)
};

// Spec fields: depth, layout, shortcut, width (see README's spec table).
void read_resnet_options(SpecReader& r, ResNetOptions& o);

// Input (N, in_channels, S, S) -> logits (N, num_classes). Names as
// torchvision: conv1, bn1, layer1.0.conv1, layer1.0.bn1, ...,
// layer2.0.downsample.0 (1x1 conv) / .1 (bn), fc. Throws ops::Error for a
// depth neither layout has, or an image too small for the strides.
std::shared_ptr<Module> make_resnet(const ResNetOptions& o, const ModelConfig& cfg,
                                    std::mt19937_64& rng);

}  // namespace ringmaster::models
