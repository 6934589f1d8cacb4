// build_model_from_spec (see model_builder.h): registry build, ensemble
// assembly, checkpoint loading by glob and freezing, with a log line each.
#include "models/model_builder.h"

#include <algorithm>

#include "models/ensemble.h"
#include "models/safetensors.h"
#include "models/tfjs_weights.h"

namespace ringmaster::models {

namespace {

bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return glob_match(g, name); });
}

void say(std::vector<std::string>* log, const std::string& line) {
  if (log != nullptr) log->push_back(line);
}

}  // namespace

std::string head_name(const Module& model) {
  const NamedTensors params = model.named_parameters();
  if (params.empty()) return "";
  const std::string& last = params.back().first;
  const size_t dot = last.rfind('.');
  return dot == std::string::npos ? "" : last.substr(0, dot);
}

std::vector<std::string> load_matching(Module& model, const std::string& checkpoint,
                                       const std::vector<std::string>& include,
                                       const std::vector<std::string>& exclude) {
  const TensorMap tensors = is_tfjs_manifest(checkpoint)
                                ? tfjs_to_state_dict(load_tfjs_weights(checkpoint))
                                : load_safetensors(checkpoint).tensors;
  const TensorMap mine = model.state_dict();
  TensorMap picked;
  for (const auto& [name, t] : tensors) {
    if (matches_any(include, name) && !matches_any(exclude, name) && mine.count(name))
      picked.emplace(name, t);
  }
  RM_THROW_IF(picked.empty(), "init: no tensor of ", checkpoint,
              " matches the include/exclude patterns and a name in the model");
  try {
    model.load_state_dict(picked, /*strict=*/false);  // throws on a shape mismatch, by name
  } catch (const ops::Error& e) {
    throw ops::Error("init from " + checkpoint + ": " + e.what() +
                     " (exclude that name, or set init.replace_head for the classifier)");
  }
  std::vector<std::string> names;
  for (const auto& [name, t] : picked) names.push_back(name);
  return names;
}

std::shared_ptr<Module> build_model_from_spec(const ModelSpec& spec, const ModelConfig& cfg,
                                              std::mt19937_64& rng, std::vector<std::string>* log) {
  if (!spec.ensemble.empty()) {
    auto ensemble = std::make_shared<Ensemble>();
    for (size_t i = 0; i < spec.ensemble.size(); ++i) {
      std::vector<std::string> member_log;
      ensemble->add_member(build_model_from_spec(spec.ensemble[i], cfg, rng, &member_log));
      for (const std::string& l : member_log) say(log, "member " + std::to_string(i) + ": " + l);
    }
    return ensemble;
  }
  ModelConfig with_log = cfg;
  with_log.log = log;
  std::shared_ptr<Module> model = build_model(spec.name, with_log, rng, spec.options);
  if (!spec.checkpoint.empty()) {  // an ensemble member trained elsewhere
    model->load_state_dict(load_safetensors(spec.checkpoint).tensors, /*strict=*/true);
    model->freeze("*");
    say(log, spec.name + " loaded from " + spec.checkpoint + " (frozen)");
  }
  if (!spec.init.checkpoint.empty()) {
    std::vector<std::string> exclude = spec.init.exclude;
    if (spec.init.replace_head) {
      const std::string head = head_name(*model);
      RM_THROW_IF(head.empty(), "init.replace_head: the model has no head layer");
      exclude.push_back(head + ".*");
      say(log,
          "init: fresh head '" + head + "' for " + std::to_string(cfg.num_classes) + " classes");
    }
    const std::vector<std::string> loaded =
        load_matching(*model, spec.init.checkpoint, spec.init.include, exclude);
    say(log, "init: " + std::to_string(loaded.size()) + " tensors from " + spec.init.checkpoint);
  }
  for (const std::string& pattern : spec.freeze) {
    const size_t n = model->freeze(pattern);
    RM_THROW_IF(n == 0, "freeze: pattern '", pattern, "' matches no parameter of ", spec.name);
    say(log, "freeze '" + pattern + "': " + std::to_string(n) + " parameters");
  }
  return model;
}

void replace_layer(Module& root, const std::string& path, std::shared_ptr<Module> m) {
  Module* parent = &root;
  std::string rest = path;
  for (size_t dot; (dot = rest.find('.')) != std::string::npos; rest = rest.substr(dot + 1)) {
    std::shared_ptr<Module> next = parent->child(rest.substr(0, dot));
    RM_THROW_IF(next == nullptr, "the model has no layer ", path);
    parent = next.get();
  }
  RM_THROW_IF(parent->child(rest) == nullptr, "the model has no layer ", path);
  parent->register_module(rest, std::move(m));
}

}  // namespace ringmaster::models
