// fcn: fully convolutional network for semantic segmentation (Long, Shelhamer
// and Darrell, 2015) on a VGG-style backbone (pools in ceil mode) or a
// cifar-layout ResNet (its pool and fc dropped; layer2 and layer3 are its
// two downsamplings, so its heads are 32s and 16s, ending at stride 4 and 2,
// and its parameters keep resnet's names: a resnet classifier's checkpoint
// initialises them), fc6/fc7 as convolutions, a 1x1 convolution classifier (score_fr),
// and transposed convolutions initialised to exact bilinear upsampling. Heads:
//   32s: score_fr upsampled by 2^P to the input (P = the backbone's pools);
//   16s: score_fr x2 + score_pool4 (1x1 on the last-but-one pool), then x2^(P-1);
//   8s:  that x2 + score_pool3 (1x1 on the pool before), then x2^(P-2);
//   4s, 2s: the same step again with score_pool2, then score_pool1 (not in
//   the paper; for fine masks: a 4-pool backbone's 4s ends at stride 2).
// Optional full-resolution refinement (not in the paper; U-Net's idea of a
// stride-1 skip): 3x3 convs (refine_layers of refine_width channels, relu)
// over [upsampled logits, input, backbone output before its first
// downsampling],
// then a 3x3 conv to K added to the logits. That last conv starts at zero,
// so a fresh refinement leaves the logits as they were, and a trained
// model without one initialises it.
// Skip classifiers start at zero (as in the paper), so a fresh 8s equals a
// fresh 32s. One forward labels every pixel: (N, C, H, W) -> (N, K, H, W)
// logits, cropped from the top-left (the pools and deconvolutions share the
// half-pixel grid). No softmax, no CRF.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/model_registry.h"
#include "models/module.h"
#include "models/resnet.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

struct FcnOptions {
  std::string head = "8s";                               // "32s" | "16s" | "8s" | "4s" | "2s"
  std::string backbone = "vgg";                          // "vgg" | "resnet"
  ResNetOptions resnet{.depth = 20, .layout = "cifar"};  // resnet: depth, shortcut, width
  int64_t backbone_depth = 16;                           // a VGG depth (11, 13, 16, 19)
  std::vector<int64_t> backbone_stack;  // or a custom VGG stack (kVggPool marks pools)
  bool batch_norm = false;              // in the backbone
  int64_t head_width = 4096;            // fc6 / fc7 channels
  int64_t head_kernel = 7;              // fc6 kernel (odd; padded to keep the size)
  double dropout = 0.5;                 // after fc6 and fc7
  int64_t refine_width = 0;             // full-resolution refinement channels (0: none)
  int64_t refine_layers = 2;            // its hidden 3x3 convs
};

// Spec fields: head, backbone {name "vgg": depth | stack, batch_norm;
// name "resnet": depth, shortcut, width}, head_width,
// head_kernel, dropout, refine_width, refine_layers (see README's spec table).
void read_fcn_options(SpecReader& r, FcnOptions& o);

// cfg.num_classes is the number of segmentation classes. Names: features.<i>
// (torchvision's VGG indices) or conv1, bn1, layer1..3 (resnet), fc6, fc7, score_fr, score_pool4,
// score_pool3, score_pool2, score_pool1, upscore2, upscore_pool4, upscore_pool3, upscore_pool2 (as
// the head uses them), upscore, refine.<i> (hidden convs 0..refine_layers-1, then the
// zero-initialised output conv). Throws ops::Error when the backbone has too few downsamplings for
// the head.
std::shared_ptr<Module> make_fcn(const FcnOptions& o, const ModelConfig& cfg, std::mt19937_64& rng);

}  // namespace ringmaster::models
