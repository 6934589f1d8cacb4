// Builds the model a job spec describes, once the data's shape is known: the
// architecture from the registry (or an ensemble of them), then transfer
// learning (init from a checkpoint, safetensors or a tfjs weights manifest,
// with include/exclude globs, a fresh head),
// then freezing by glob. Errors (a missing file, a shape mismatch, named by
// parameter, a pattern that matches nothing) throw ops::Error. Blocks on
// checkpoint reads; not thread-safe per model.
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/model_registry.h"
#include "models/model_spec.h"
#include "models/module.h"

namespace ringmaster::models {

// log, when given, receives one line per thing done ("init: 58 tensors from ...").
std::shared_ptr<Module> build_model_from_spec(const ModelSpec& spec, const ModelConfig& cfg,
                                              std::mt19937_64& rng,
                                              std::vector<std::string>* log = nullptr);

// Loads the entries of `checkpoint` whose names match an include glob and no
// exclude glob into model (shapes must match; see Module::load_state_dict).
// `checkpoint` is a safetensors file, or a TensorFlow.js weights manifest
// (a path ending in ".json"; names and layouts translated by
// tfjs_to_state_dict, see tfjs_weights.h).
// Returns the names loaded. Throws ops::Error when nothing matches.
std::vector<std::string> load_matching(Module& model, const std::string& checkpoint,
                                       const std::vector<std::string>& include,
                                       const std::vector<std::string>& exclude);

// The module path of the model's last parameter ("fc" for "fc.bias"): the
// head that init.replace_head leaves out. Empty when the model has none.
std::string head_name(const Module& model);

// Replaces the module at dotted `path` under root with `m` (a head left
// out, a pool swapped); throws ops::Error when root has no such layer.
void replace_layer(Module& root, const std::string& path, std::shared_ptr<Module> m);

}  // namespace ringmaster::models
