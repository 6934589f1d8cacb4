// Parsing of the model section (see model_spec.h): the spec's own fields
// here, the architecture's through its options reader in the registry.
#include "models/model_spec.h"

#include <set>

#include "models/model_registry.h"

namespace ringmaster::models {

void parse_model_spec(const nlohmann::json& m, const std::string& pointer, bool member,
                      ModelSpec& out, std::vector<SpecProblem>& problems) {
  if (!member && m.is_object() && m.contains("ensemble")) {
    SpecReader r(m, pointer, problems);
    const nlohmann::json* e = r.raw("ensemble");
    out.name = "ensemble";
    if (!e->is_array() || e->size() < 2) {
      r.problem("ensemble", "must be an array of at least 2 model objects");
      return;
    }
    out.ensemble.resize(e->size());
    for (size_t i = 0; i < e->size(); ++i)
      parse_model_spec((*e)[i], r.child("ensemble/" + std::to_string(i)), true, out.ensemble[i],
                       problems);
    return;
  }
  // The job spec owns these fields; the architecture's reader reads the rest.
  const std::set<std::string> ours = {"name", "init", "freeze", "checkpoint"};
  std::set<std::string> theirs;
  if (m.is_object()) {
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (!ours.count(it.key())) {
        theirs.insert(it.key());
        out.options[it.key()] = it.value();
      }
    }
  }
  {
    SpecReader own(m, pointer, problems, theirs);
    if (!own.ok()) return;
    own.string("name", out.name);
    own.strings("freeze", out.freeze);
    if (member) {
      own.string("checkpoint", out.checkpoint);
    } else if (own.has("checkpoint")) {
      own.raw("checkpoint");
      own.problem("checkpoint", "only for ensemble members (use init.checkpoint to fine-tune)");
    }
    if (const nlohmann::json* init = own.raw("init")) {
      SpecReader ir(*init, own.child("init"), problems);
      ir.string("checkpoint", out.init.checkpoint);
      ir.strings("include", out.init.include);
      ir.strings("exclude", out.init.exclude);
      ir.boolean("replace_head", out.init.replace_head);
      if (ir.ok() && out.init.checkpoint.empty()) ir.problem("checkpoint", "is required");
      if (!out.checkpoint.empty())
        own.problem("init", "a member with a checkpoint loads all of it; drop init");
    }
  }
  // Validation only: the trainer builds the model once the data is loaded.
  SpecReader theirs_reader(m, pointer, problems, ours);
  read_model_options(out.name, theirs_reader);
}

}  // namespace ringmaster::models
