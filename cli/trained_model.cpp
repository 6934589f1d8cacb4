// trained_model (see trained_model.h).
#include "cli/trained_model.h"

#include <cstdio>
#include <random>

#include "models/model_builder.h"
#include "models/safetensors.h"

namespace ringmaster::cli {

std::optional<training::JobSpec> load_spec_of_task(const char* command, const std::string& path,
                                                   training::TaskKind task, const char* what) {
  training::JobSpec spec;
  try {
    spec = training::load_job_spec(path);
  } catch (const models::SpecError& e) {
    std::fprintf(stderr, "ringmaster %s: invalid spec %s:\n%s\n", command, path.c_str(), e.what());
    return std::nullopt;
  }
  if (spec.data.task != task) {
    std::fprintf(stderr, "ringmaster %s: %s: data set \"%s\" is %s, not %s\n", command,
                 path.c_str(), spec.data.dataset.c_str(), training::to_string(spec.data.task),
                 what);
    return std::nullopt;
  }
  return spec;
}

std::string class_name(const models::Dataset& data, int64_t k) {
  if (k >= 0 && k < static_cast<int64_t>(data.class_names.size()))
    return data.class_names[static_cast<size_t>(k)];
  return "class " + std::to_string(k);
}

std::shared_ptr<models::Module> load_trained_model(const training::JobSpec& spec,
                                                   const models::Dataset& data,
                                                   const std::string& checkpoint,
                                                   const char* nested) {
  std::mt19937_64 rng(spec.train.seed);
  models::ModelConfig cfg;
  cfg.in_channels = static_cast<int>(data.images.dim(1));
  cfg.image_size = static_cast<int>(data.images.dim(2));
  cfg.num_classes = data.num_classes;
  models::ModelSpec model_spec = spec.model;
  model_spec.init = {};  // the checkpoint has every weight, a nested model's too
  if (auto n = model_spec.options.find(nested); n != model_spec.options.end() && n->is_object())
    n->erase("init");
  auto model = models::build_model_from_spec(model_spec, cfg, rng);
  model->load_state_dict(models::load_safetensors(checkpoint).tensors);
  model->train(false);
  return model;
}

}  // namespace ringmaster::cli
