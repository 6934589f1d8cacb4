// vgg: VGG (Simonyan and Zisserman, 2014): a stack of 3x3 convolutions
// (padding 1, relu, optionally batch norm) with 2x2 max pools between
// blocks, then a three-layer classifier (width, width, classes) with relu and
// dropout. Depths 11, 13, 16, 19 use the paper's stacks; `stack` gives any
// other. At 224 px with 1000 classes it is torchvision's VGG parameter for
// parameter; there is no adaptive pool: the classifier takes the C*S*S
// features the stack produces (512*7*7 at 224). No softmax.
#pragma once

#include <memory>
#include <random>
#include <vector>

#include "models/model_registry.h"
#include "models/module.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

constexpr int64_t kVggPool = 0;  // a max pool in a stack; any other value is a conv width

struct VggOptions {
  int64_t depth = 16;          // 11, 13, 16, 19 (ignored when stack is set)
  std::vector<int64_t> stack;  // e.g. {64, kVggPool, 128, kVggPool}; empty: the depth's
  bool batch_norm = false;
  int64_t classifier_width = 4096;
  double dropout = 0.5;
  bool ceil_mode = false;  // ceil the pools (lets 28 px survive five pools: 28 14 7 4 2 1)
};

// Spec fields: depth, stack (integers and "M" for a pool), batch_norm,
// classifier_width, dropout, ceil_mode (see README's spec table).
void read_vgg_options(SpecReader& r, VggOptions& o);

// Reads r's "stack" field (conv widths and "M") into stack, if present.
void read_vgg_stack(SpecReader& r, std::vector<int64_t>& stack);

// The convolution widths and pools of a depth (kVggPool marks a pool).
std::vector<int64_t> vgg_stack(int64_t depth);

// The side a stack's 2x2 pools leave of `image_size` px, by max_pool2d's own
// rule (ops::pool_output_size); 0 when a pool would have no output.
int64_t vgg_stack_output_size(const std::vector<int64_t>& stack, int64_t image_size,
                              bool ceil_mode);

// Input (N, in_channels, S, S) -> logits (N, num_classes). Names as
// torchvision: features.<i> (convs at torchvision's indices), classifier.0,
// classifier.3, classifier.6. Throws ops::Error when the pools leave nothing.
std::shared_ptr<Module> make_vgg(const VggOptions& o, const ModelConfig& cfg, std::mt19937_64& rng);

// The feature stack alone (features.*), for FCN backbones: a Sequential whose
// children are named by torchvision's indices (pools are MaxPool2d children).
// Convs fuse their relu unless batch_norm.
std::shared_ptr<Module> make_vgg_features(const std::vector<int64_t>& stack, int64_t in_channels,
                                          bool batch_norm, bool ceil_mode, std::mt19937_64& rng);

}  // namespace ringmaster::models
