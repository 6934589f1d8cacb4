// The model registry: architectures built by name from a job spec. It only
// maps names to (read options, build) pairs; each architecture lives in its
// own file. To add one, write its options reader and factory and add one
// line to the table in model_registry.cpp. Thread-safe (the table is
// immutable); building a model does not block.
#pragma once

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/module.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

// What the data decides (the spec decides the rest).
struct ModelConfig {
  int in_channels = 1;
  int num_classes = 10;
  int image_size = 28;  // square inputs (image_size x image_size)
  // Where a model that builds another from its spec (nic's encoder) reports
  // that build's lines (init, freeze); build_model_from_spec sets it.
  std::vector<std::string>* log = nullptr;
};

// Builds the model once the data's shape is known; throws ops::Error when the
// architecture cannot take that shape (e.g. an image too small for its pools).
using ModelBuilder = std::function<std::shared_ptr<Module>(const ModelConfig&, std::mt19937_64&)>;

// Reads architecture `name`'s options from r (the model object; problems are
// recorded in r by JSON pointer) and returns its builder. An unknown name is
// a problem at r's "/name" and gives a null builder.
ModelBuilder read_model_options(const std::string& name, SpecReader& r);

// A new model of that name, initialised from rng, with `options` (a JSON
// object of the architecture's fields, e.g. {"depth": 20}). An unknown name
// or bad options throw ops::Error listing every problem; a config the
// architecture cannot take throws ops::Error from its factory.
std::shared_ptr<Module> build_model(const std::string& name, const ModelConfig& cfg,
                                    std::mt19937_64& rng,
                                    const nlohmann::json& options = nlohmann::json::object());

// What a model reads from the data: images, token ids (text), or both
// (captioned images), or images with their objects' boxes (detectors).
enum class ModelReads { kImages, kTokens, kImagesAndTokens, kImagesAndBoxes };
ModelReads model_reads(const std::string& name);

// The registered names, sorted.
std::vector<std::string> model_names();

}  // namespace ringmaster::models
