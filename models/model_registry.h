// The model registry: architectures built by name from a job spec. It only
// maps names to factories; each architecture lives in its own file. To add
// one, write its factory and add one line to the table in model_registry.cpp.
// Thread-safe (the table is immutable); building a model does not block.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/module.h"

namespace ringmaster::models {

struct ModelConfig {
  int in_channels = 1;
  int num_classes = 10;
  int image_size = 28;  // square inputs (image_size x image_size)
};

// A new model of that name, initialised from rng. An unknown name throws
// ops::Error listing the known names; a config the architecture cannot take
// throws ops::Error from its factory.
std::shared_ptr<Module> build_model(const std::string& name, const ModelConfig& cfg,
                                    std::mt19937_64& rng);

// The registered names, sorted.
std::vector<std::string> model_names();

}  // namespace ringmaster::models
