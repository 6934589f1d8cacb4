// mlp: a multi-layer perceptron on flattened images: fc1 .. fcK with ReLU
// between them (hidden widths from the spec), then the classifier. With no
// hidden layer it is softmax regression. No pooling, no batch norm, no
// dropout: the baseline of the model library, and the model whose training is
// smooth enough to compare data-parallel runs with one process to 1e-5.
#pragma once

#include <memory>
#include <random>
#include <vector>

#include "models/model_registry.h"
#include "models/module.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

struct MlpOptions {
  std::vector<int64_t> hidden{128};  // widths of the hidden layers, in order
};

// Spec: {"name": "mlp", "hidden": [128]}.
void read_mlp_options(SpecReader& r, MlpOptions& o);
// Input (N, C, H, W) -> logits (N, num_classes). Parameters fc1.weight,
// fc1.bias, ..., fc<K+1>.weight, fc<K+1>.bias.
std::shared_ptr<Module> make_mlp(const MlpOptions& o, const ModelConfig& cfg, std::mt19937_64& rng);

}  // namespace ringmaster::models
