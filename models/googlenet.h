// googlenet: GoogLeNet / Inception v1 (Szegedy et al., 2014) without the
// auxiliary classifiers. An inception module runs four branches on the same
// input and concatenates them on channels: 1x1; 1x1 then 3x3; 1x1 then 5x5;
// 3x3 max pool then 1x1. Variants:
//   imagenet, norm "batch_norm": torchvision's GoogLeNet, parameter for
//     parameter (bias-free convs + batch norm; its "5x5" branch is 3x3).
//   imagenet, norm "lrn": the paper's v1 (biased convs + relu, local
//     response norm after the first pool and after conv3, true 5x5 branch).
//   small: for 28 and 32 px inputs (our design): a 3x3 stem, one 3x3/2 max
//     pool, inception 3a and 3b at half v1 width, a pool, 4a and 4b, global
//     average pool, fc. Batch norm.
// No softmax, no pretrained weights.
#pragma once

#include <memory>
#include <random>
#include <string>

#include "models/model_registry.h"
#include "models/module.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

struct GoogLeNetOptions {
  std::string variant = "auto";     // "imagenet" | "small" | "auto" (small below 96 px)
  std::string norm = "batch_norm";  // "batch_norm" | "lrn" (imagenet only)
  double dropout = -1.0;            // before fc; < 0: 0.2 (batch_norm, small) or 0.4 (lrn)
};

// Spec fields: variant, norm, dropout (see README's spec table).
void read_googlenet_options(SpecReader& r, GoogLeNetOptions& o);

// Input (N, in_channels, S, S) -> logits (N, num_classes). Names as
// torchvision: conv1.conv / conv1.bn, conv2, conv3, inception3a.branch1.conv,
// inception3a.branch2.0.conv, ..., inception3a.branch4.1.conv, fc. Throws
// ops::Error when S is too small for the variant's pools.
std::shared_ptr<Module> make_googlenet(const GoogLeNetOptions& o, const ModelConfig& cfg,
                                       std::mt19937_64& rng);

}  // namespace ringmaster::models
