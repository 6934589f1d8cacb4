// The model section of a job spec: the architecture by name with its own
// fields, transfer learning (init from a checkpoint), freezing, and
// ensembles. Parsed strictly (problems by JSON pointer, see spec_reader.h);
// the architecture's fields are validated by its options reader in the model
// registry. The job spec (training/job_spec.h) holds one; the model builder
// (model_builder.h) builds from it.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/spec_reader.h"

namespace ringmaster::models {

// Transfer learning: initialise some of the model's tensors from a
// checkpoint (see README's spec table).
struct InitSpec {
  std::string checkpoint;                 // safetensors file or tfjs manifest (.json); empty: none
  std::vector<std::string> include{"*"};  // globs of parameter/buffer names to load
  std::vector<std::string> exclude;       // globs of names not to load
  bool replace_head = false;              // also skip the final layer (a fresh head)
};

struct ModelSpec {
  std::string name = "deep_convnet";  // "ensemble" when ensemble is non-empty
  // The architecture's own fields (the model object without name, init,
  // freeze and checkpoint), validated by its options reader.
  nlohmann::json options = nlohmann::json::object();
  InitSpec init;
  std::vector<std::string> freeze;  // globs of parameter names not to train
  std::string checkpoint;           // ensemble members: all weights from here, frozen
  std::vector<ModelSpec> ensemble;  // members whose probabilities are averaged
};

// The model object m at `pointer` ("/model"): an architecture (name, its
// options, init, freeze, and checkpoint for ensemble members when `member`)
// or {"ensemble": [...]}. Problems are appended to `problems`.
void parse_model_spec(const nlohmann::json& m, const std::string& pointer, bool member,
                      ModelSpec& out, std::vector<SpecProblem>& problems);

}  // namespace ringmaster::models
