// Strict job-spec parsing (see job_spec.h). Each section is read by a
// SpecReader that records which keys it consumed, so any key left over is an
// "unknown field" problem at its JSON pointer.
#include "models/job_spec.h"

#include <fstream>
#include <set>
#include <sstream>

#include "models/json_fields.h"
#include "models/lr_schedule.h"
#include "models/model_registry.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

SpecError::SpecError(std::vector<SpecProblem> problems)
    : std::runtime_error(format_problems(problems)), problems_(std::move(problems)) {}

std::string format_problems(const std::vector<SpecProblem>& problems) {
  std::ostringstream os;
  for (size_t i = 0; i < problems.size(); ++i) {
    os << (i ? "\n" : "") << (problems[i].pointer.empty() ? "/" : problems[i].pointer) << ": "
       << problems[i].reason;
  }
  return os.str();
}

namespace {

// data.augment: an array of steps {"type": ..., "p": ..., per-type fields}.
void parse_augment(SpecReader& data, std::vector<AugmentStep>& out) {
  const nlohmann::json* a = data.raw("augment");
  if (a == nullptr) return;
  if (!a->is_array()) {
    data.problem("augment", std::string("must be an array of steps, got ") + json_type_name(*a));
    return;
  }
  for (size_t i = 0; i < a->size(); ++i) {
    SpecReader r((*a)[i], data.child("augment/" + std::to_string(i)), data.problems());
    if (!r.ok()) continue;
    std::string type;
    r.string("type", type);
    AugmentStep st;
    if (!augment_kind_from_name(type, st.kind)) {
      r.problem("type", type.empty() && !r.has("type")
                            ? "is required (rotate, translate, crop, hflip, scale, "
                              "color_jitter, cutout)"
                            : "must be one of rotate, translate, crop, hflip, scale, "
                              "color_jitter, cutout, got \"" +
                                  type + "\"");
      continue;
    }
    auto required = [&](const char* key) {
      if (!r.has(key)) r.problem(key, std::string("is required for ") + type);
    };
    st.p = st.kind == AugmentStep::Kind::hflip ? 0.5 : 1.0;
    r.number("p", st.p, 0.0, 1.0);
    using K = AugmentStep::Kind;
    if (st.kind != K::hflip && st.kind != K::color_jitter) r.integer("fill", st.fill, 0, 255);
    switch (st.kind) {
      case K::rotate:
        required("degrees");
        r.number("degrees", st.degrees, 0.0, 180.0, true);
        break;
      case K::translate:
        required("pixels");
        r.integer("pixels", st.pixels, 1, 4096);
        break;
      case K::crop:
        required("padding");
        r.integer("padding", st.padding, 1, 4096);
        break;
      case K::hflip:
        break;
      case K::scale:
        required("min");
        required("max");
        r.number("min", st.min_scale, 0.1, 10.0);
        r.number("max", st.max_scale, 0.1, 10.0);
        if (st.min_scale > st.max_scale) r.problem("max", "must be >= min");
        break;
      case K::color_jitter:
        r.number("brightness", st.brightness, 0.0, 1.0);
        r.number("contrast", st.contrast, 0.0, 1.0);
        r.number("saturation", st.saturation, 0.0, 1.0);
        if (st.brightness == 0.0 && st.contrast == 0.0 && st.saturation == 0.0)
          r.problem("", "color_jitter needs brightness, contrast or saturation > 0");
        break;
      case K::cutout:
        required("size");
        r.integer("size", st.size, 1, 4096);
        break;
    }
    out.push_back(st);
  }
}

// The model object at `pointer`: an architecture (name, its options, init,
// freeze, and checkpoint for ensemble members) or {"ensemble": [...]}.
void parse_model(const nlohmann::json& m, const std::string& pointer, bool member, ModelSpec& out,
                 std::vector<SpecProblem>& problems) {
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
      parse_model((*e)[i], r.child("ensemble/" + std::to_string(i)), true, out.ensemble[i],
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

}  // namespace

JobSpec parse_job_spec(const nlohmann::json& j) {
  std::vector<SpecProblem> problems;
  JobSpec spec;
  spec.source = j;
  {
    SpecReader top(j, "", problems);
    top.string("name", spec.name);
    if (const nlohmann::json* m = top.object("model"))
      parse_model(*m, "/model", false, spec.model, problems);
    if (const nlohmann::json* d = top.object("data")) {
      SpecReader r(*d, "/data", problems);
      parse_augment(r, spec.data.augment);
      r.string("dataset", spec.data.dataset,
               {"digits", "fashion-composites", "fashion-mnist", "lfw-subset"});
      if (const nlohmann::json* c = r.raw("composites")) {
        SpecReader cr(*c, r.child("composites"), problems);
        cr.integer("size", spec.data.composite_size, 28, 1024);
        cr.integer("train", spec.data.composite_train, 1, 1000000);
        cr.integer("test", spec.data.composite_test, 1, 1000000);
        cr.integer("max_items", spec.data.composite_max_items, 1, 64);
        int64_t seed = static_cast<int64_t>(spec.data.composite_seed);
        cr.integer("seed", seed, 0);
        spec.data.composite_seed = static_cast<uint64_t>(seed);
        if (spec.data.dataset != "fashion-composites")
          r.problem("composites", "only for the fashion-composites data set");
      }
      r.string("path", spec.data.path);
      r.integer("train_limit", spec.data.train_limit, 0);
      r.integer("test_limit", spec.data.test_limit, 0);
      r.integer("train_per_class", spec.data.train_per_class, 0);
      r.integer("split_seed", spec.data.split_seed, 0);
      if (r.has("split_seed") && spec.data.dataset != "digits" && spec.data.dataset != "lfw-subset")
        r.problem("split_seed", "only for the digits and lfw-subset data sets");
      r.integer("image_size", spec.data.image_size, 8, 1024);
      if (r.has("image_size") && spec.data.dataset != "lfw-subset")
        r.problem("image_size", "only for the lfw-subset data set");
      double frac = -1.0;
      r.number("test_fraction", frac, 0.0, 0.9, true);
      if (frac > 0.0) spec.data.test_fraction_permille = static_cast<int64_t>(frac * 1000.0 + 0.5);
    }
    if (const nlohmann::json* t = top.object("train")) {
      SpecReader r(*t, "/train", problems);
      r.integer("epochs", spec.train.epochs, 1, 100000);
      r.integer("batch_size", spec.train.batch_size, 1, 1 << 20);
      r.integer("eval_batch_size", spec.train.eval_batch_size, 1, 1 << 20);
      r.integer("seed", spec.train.seed, 0);
      r.integer("threads", spec.train.threads, 0, 1024);
      r.string("device", spec.train.device, {"auto", "cpu", "cuda"});
      r.string("precision", spec.train.precision, {"fp16", "fp32"});
      if (spec.train.precision == "fp16" && spec.train.device == "cpu")
        r.problem("precision", "fp16 needs a GPU: set train.device to \"cuda\" or \"auto\"");
    }
    if (const nlohmann::json* o = top.object("optimizer")) {
      SpecReader r(*o, "/optimizer", problems);
      r.string("name", spec.optimizer.name, {"adam", "adamw", "sgd"});
      r.number("lr", spec.optimizer.lr, 0.0, 10.0, true);
      r.number("momentum", spec.optimizer.momentum, 0.0, 1.0);
      r.boolean("nesterov", spec.optimizer.nesterov);
      r.number("weight_decay", spec.optimizer.weight_decay, 0.0, 1.0);
      r.number("beta1", spec.optimizer.beta1, 0.0, 1.0);
      r.number("beta2", spec.optimizer.beta2, 0.0, 1.0);
      r.number("eps", spec.optimizer.eps, 0.0, 1.0, true);
      if (spec.optimizer.nesterov && spec.optimizer.momentum <= 0.0)
        r.problem("nesterov", "needs momentum > 0");
    }
    if (const nlohmann::json* s = top.object("lr_schedule")) {
      spec.lr_schedule = *s;
      try {
        LrSchedule::from_json(*s, spec.optimizer.lr);
      } catch (const detail::FieldError& e) {
        problems.push_back({"/lr_schedule/" + e.field(), e.problem()});
      } catch (const std::exception& e) {
        problems.push_back({"/lr_schedule", e.what()});
      }
    }
    if (const nlohmann::json* c = top.object("checkpoint")) {
      SpecReader r(*c, "/checkpoint", problems);
      r.string("path", spec.checkpoint.path);
    }
    if (const nlohmann::json* res = top.object("resources")) {
      SpecReader r(*res, "/resources", problems);
      r.integer("workers", spec.resources.workers, 1, 4096);
      r.integer("cores", spec.resources.cores, 1, 1024);
      r.integer("gpus", spec.resources.gpus, 0, 64);
    }
    if (const nlohmann::json* s = top.object("sync")) {
      SpecReader r(*s, "/sync", problems);
      r.string("mode", spec.sync.mode, {"allreduce", "ps"});
      r.string("compression", spec.sync.compression, {"fp16", "none"});
      r.number("bucket_mb", spec.sync.bucket_mb, 0.0, 4096.0, true);
      r.integer("staleness", spec.sync.staleness, 0, 1000);
      r.integer("shards", spec.sync.shards, 1, 64);
      r.number("timeout_s", spec.sync.timeout_s, 0.0, 86400.0, true);
      if (spec.sync.mode != "ps" && spec.sync.staleness > 0)
        r.problem("staleness", "only for mode \"ps\" (all-reduce is synchronous)");
      if (spec.sync.mode != "ps" && r.has("shards")) r.problem("shards", "only for mode \"ps\"");
      if (spec.sync.mode == "ps" && r.has("bucket_mb"))
        r.problem("bucket_mb", "only for mode \"allreduce\"");
    }
    top.integer("priority", spec.priority, -1000, 1000);
  }
  if (spec.data.dataset == "digits" && spec.data.test_fraction_permille == 0)
    spec.data.test_fraction_permille = 280;
  if (spec.data.dataset == "lfw-subset" && spec.data.test_fraction_permille == 0)
    spec.data.test_fraction_permille = 500;
  if (spec.data.dataset == "lfw-subset" && spec.data.image_size == 0) spec.data.image_size = 150;
  if (spec.data.dataset != "digits" && spec.data.dataset != "lfw-subset" &&
      spec.data.test_fraction_permille != 0)
    problems.push_back({"/data/test_fraction",
                        "only for the digits and lfw-subset data sets (fashion-mnist has a test "
                        "set)"});
  if (spec.checkpoint.path.empty())
    spec.checkpoint.path = "runs/" + spec.name + "/final.safetensors";
  if (!problems.empty()) throw SpecError(std::move(problems));
  return spec;
}

JobSpec load_job_spec(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw SpecError({{"", "cannot read spec file " + path}});
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw SpecError({{"", path + " is not valid JSON: " + e.what()}});
  }
  return parse_job_spec(j);
}

}  // namespace ringmaster::models
