// Strict job-spec parsing (see job_spec.h). Each section is read by a
// models::SpecReader that records which keys it consumed, so any key left
// over is an "unknown field" problem at its JSON pointer. The data set's and
// the architecture's own fields are read by their registries' readers.
#include "training/job_spec.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "models/model_registry.h"
#include "ops/bounded_json.h"
#include "training/dataset_registry.h"
#include "training/json_fields.h"
#include "training/lr_schedule.h"

namespace ringmaster::training {

using models::SpecProblem;
using models::SpecReader;

const char* to_string(SyncMode m) { return m == SyncMode::kAllreduce ? "allreduce" : "ps"; }
const char* to_string(Precision p) { return p == Precision::kFp32 ? "fp32" : "fp16"; }
const char* to_string(DeviceChoice d) {
  return d == DeviceChoice::kAuto ? "auto" : d == DeviceChoice::kCpu ? "cpu" : "cuda";
}
const char* to_string(TaskKind t) {
  switch (t) {
    case TaskKind::kClassification:
      return "classification";
    case TaskKind::kSegmentation:
      return "segmentation";
    case TaskKind::kLanguageModel:
      return "language_model";
    case TaskKind::kCaptioning:
      return "captioning";
    case TaskKind::kDetection:
      return "detection";
  }
  return "?";
}
const char* to_string(OptimizerKind o) {
  return o == OptimizerKind::kSgd ? "sgd" : o == OptimizerKind::kAdam ? "adam" : "adamw";
}

namespace {

// data.augment: an array of steps {"type": ..., "p": ..., per-type fields}.
void parse_augment(models::SpecReader& data, std::vector<models::AugmentStep>& out) {
  const nlohmann::json* a = data.raw("augment");
  if (a == nullptr) return;
  if (!a->is_array()) {
    data.problem("augment",
                 std::string("must be an array of steps, got ") + models::json_type_name(*a));
    return;
  }
  for (size_t i = 0; i < a->size(); ++i) {
    models::SpecReader r((*a)[i], data.child("augment/" + std::to_string(i)), data.problems());
    if (!r.ok()) continue;
    std::string type;
    r.string("type", type);
    models::AugmentStep st;
    if (!models::augment_kind_from_name(type, st.kind)) {
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
    st.p = st.kind == models::AugmentStep::Kind::hflip ? 0.5 : 1.0;
    r.number("p", st.p, 0.0, 1.0);
    using K = models::AugmentStep::Kind;
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

// data: the fields every data set has, then the data set's own (kept in
// options for its loader), read by its reader in the registry.
void parse_data(const nlohmann::json& d, DataSpec& out, std::vector<SpecProblem>& problems) {
  const std::set<std::string> common = {"dataset",         "path",   "train_limit", "test_limit",
                                        "train_per_class", "augment"};
  std::set<std::string> theirs;
  if (d.is_object())
    for (auto it = d.begin(); it != d.end(); ++it)
      if (!common.count(it.key())) {
        theirs.insert(it.key());
        out.options[it.key()] = it.value();
      }
  {
    SpecReader r(d, "/data", problems, theirs);
    if (!r.ok()) return;
    parse_augment(r, out.augment);
    r.string("dataset", out.dataset);
    r.string("path", out.path);
    r.integer("train_limit", out.train_limit, 0);
    r.integer("test_limit", out.test_limit, 0);
    r.integer("train_per_class", out.train_per_class, 0);
  }
  SpecReader own(d, "/data", problems, common);
  own.set_unknown_reason(unknown_field_reason(out.dataset));
  if (auto task = read_dataset_options(out.dataset, out.path, own)) out.task = *task;
}

void parse_train(SpecReader& r, TrainSpec& t) {
  r.integer("epochs", t.epochs, 1, 100000);
  r.integer("batch_size", t.batch_size, 1, 1 << 20);
  r.integer("eval_batch_size", t.eval_batch_size, 1, 1 << 20);
  r.integer("seed", t.seed, 0);
  r.integer("threads", t.threads, 0, 1024);
  r.choice(
      "device", t.device,
      {{"auto", DeviceChoice::kAuto}, {"cpu", DeviceChoice::kCpu}, {"cuda", DeviceChoice::kCuda}});
  r.choice("precision", t.precision, {{"fp16", Precision::kFp16}, {"fp32", Precision::kFp32}});
  if (t.precision == Precision::kFp16 && t.device == DeviceChoice::kCpu)
    r.problem("precision", "fp16 needs a GPU: set train.device to \"cuda\" or \"auto\"");
}

void parse_optimizer(SpecReader& r, OptimizerSpec& o) {
  r.choice("name", o.name,
           {{"adam", OptimizerKind::kAdam},
            {"adamw", OptimizerKind::kAdamW},
            {"sgd", OptimizerKind::kSgd}});
  r.number("lr", o.lr, 0.0, 10.0, true);
  r.number("momentum", o.momentum, 0.0, 1.0);
  r.boolean("nesterov", o.nesterov);
  r.number("weight_decay", o.weight_decay, 0.0, 1.0);
  r.number("beta1", o.beta1, 0.0, 1.0);
  r.number("beta2", o.beta2, 0.0, 1.0);
  r.number("eps", o.eps, 0.0, 1.0, true);
  r.number("clip_grad_norm", o.clip_grad_norm, 0.0, 1.0e9);
  if (o.nesterov && o.momentum <= 0.0) r.problem("nesterov", "needs momentum > 0");
}

void parse_sync(SpecReader& r, SyncSpec& s) {
  r.choice("mode", s.mode,
           {{"allreduce", SyncMode::kAllreduce}, {"ps", SyncMode::kParameterServer}});
  r.choice("compression", s.compression,
           {{"fp16", comm::Compression::kFp16}, {"none", comm::Compression::kNone}});
  r.number("bucket_mb", s.bucket_mb, 0.0, 4096.0, true);
  r.integer("staleness", s.staleness, 0, 1000);
  r.integer("shards", s.shards, 1, 64);
  r.number("timeout_s", s.timeout_s, 0.0, 86400.0, true);
  const bool ps = s.mode == SyncMode::kParameterServer;
  if (!ps && s.staleness > 0)
    r.problem("staleness", "only for mode \"ps\" (all-reduce is synchronous)");
  if (!ps && r.has("shards")) r.problem("shards", "only for mode \"ps\"");
  if (ps && r.has("bucket_mb")) r.problem("bucket_mb", "only for mode \"allreduce\"");
}

void parse_lr_schedule(const nlohmann::json& s, double lr, std::vector<SpecProblem>& problems) {
  try {
    LrSchedule::from_json(s, lr);
  } catch (const detail::FieldError& e) {
    problems.push_back({"/lr_schedule/" + e.field(), e.problem()});
  } catch (const std::exception& e) {
    problems.push_back({"/lr_schedule", e.what()});
  }
}

// What no single section can check.
void check_across_sections(const JobSpec& spec, std::vector<SpecProblem>& problems) {
  if (spec.optimizer.clip_grad_norm > 0.0 && spec.resources.workers > 1 &&
      spec.sync.mode == SyncMode::kParameterServer)
    problems.push_back({"/optimizer/clip_grad_norm",
                        "the parameter-server shards apply the update and do not clip (not "
                        "supported with sync.mode \"ps\" yet)"});
  const bool periodic = spec.checkpoint.every_epochs > 0 || spec.checkpoint.every_steps > 0;
  if (periodic && spec.resources.workers > 1 && spec.sync.mode == SyncMode::kParameterServer)
    problems.push_back(
        {spec.checkpoint.every_epochs > 0 ? "/checkpoint/every_epochs" : "/checkpoint/every_steps",
         "periodic checkpoints need the optimizer state in the ranks; with "
         "sync.mode \"ps\" the shards hold it (not supported yet)"});
  // What the data gives against what the model reads.
  using models::ModelReads;
  const auto describe = [](ModelReads r) {
    return r == ModelReads::kTokens           ? "text (token ids)"
           : r == ModelReads::kImages         ? "images"
           : r == ModelReads::kImagesAndBoxes ? "images with boxes"
                                              : "images with captions";
  };
  const ModelReads data_gives =
      spec.data.task == TaskKind::kLanguageModel ? ModelReads::kTokens
      : spec.data.task == TaskKind::kCaptioning  ? ModelReads::kImagesAndTokens
      : spec.data.task == TaskKind::kDetection   ? ModelReads::kImagesAndBoxes
                                                 : ModelReads::kImages;
  const ModelReads model_reads = models::model_reads(spec.model.name);
  const std::vector<std::string> known = models::model_names();
  if (data_gives != model_reads &&
      std::find(known.begin(), known.end(), spec.model.name) != known.end())
    problems.push_back({"/model/name", "model \"" + spec.model.name + "\" reads " +
                                           describe(model_reads) + "; data set \"" +
                                           spec.data.dataset + "\" has " + describe(data_gives)});
  if (!spec.data.augment.empty() &&
      (spec.data.task == TaskKind::kLanguageModel || spec.data.task == TaskKind::kCaptioning))
    problems.push_back({"/data/augment", "augments images alone; data set \"" + spec.data.dataset +
                                             "\" is " + to_string(spec.data.task) +
                                             " (its sentences would not follow)"});
  if (spec.data.train_per_class > 0 && spec.data.task != TaskKind::kClassification)
    problems.push_back(
        {"/data/train_per_class", std::string("takes samples per class of a "
                                              "classification data set; data set \"") +
                                      spec.data.dataset + "\" is " + to_string(spec.data.task)});
  if (spec.model.name == "ensemble" && spec.data.task != TaskKind::kClassification)
    problems.push_back({"/model/ensemble", std::string("ensembles average class probabilities per "
                                                       "image; data set \"") +
                                               spec.data.dataset + "\" is " +
                                               to_string(spec.data.task)});
}

// The name becomes a folder (runs/<name>/) and a metric label: one path
// segment of printable characters.
std::string job_name_problem(const std::string& name) {
  if (name.empty() || name.size() > 128) return "must be 1 to 128 characters";
  if (name == "." || name == "..") return "must not be \".\" or \"..\"";
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return "must not contain control characters (a NUL included)";
    if (c == '/') return "must not contain '/'";
  }
  return {};
}

}  // namespace

JobSpec parse_job_spec(const nlohmann::json& j) {
  std::vector<SpecProblem> problems;
  JobSpec spec;
  spec.source = j;
  bool gpus_given = false;
  {
    SpecReader top(j, "", problems);
    top.string("name", spec.name);
    if (const std::string why = job_name_problem(spec.name); !why.empty()) top.problem("name", why);
    if (const nlohmann::json* m = top.object("model"))
      models::parse_model_spec(*m, "/model", false, spec.model, problems);
    const nlohmann::json* d = top.object("data");
    parse_data(d != nullptr ? *d : nlohmann::json::object(), spec.data, problems);
    if (const nlohmann::json* t = top.object("train")) {
      SpecReader r(*t, "/train", problems);
      parse_train(r, spec.train);
    }
    if (const nlohmann::json* o = top.object("optimizer")) {
      SpecReader r(*o, "/optimizer", problems);
      parse_optimizer(r, spec.optimizer);
    }
    if (const nlohmann::json* s = top.object("lr_schedule")) {
      spec.lr_schedule = *s;
      parse_lr_schedule(*s, spec.optimizer.lr, problems);
    }
    if (const nlohmann::json* c = top.object("checkpoint")) {
      SpecReader r(*c, "/checkpoint", problems);
      r.string("path", spec.checkpoint.path);
      r.integer("every_epochs", spec.checkpoint.every_epochs, 0, 1000000);
      r.integer("every_steps", spec.checkpoint.every_steps, 0, 1000000000);
      r.integer("keep", spec.checkpoint.keep, 1, 1000);
    }
    if (const nlohmann::json* res = top.object("resources")) {
      SpecReader r(*res, "/resources", problems);
      r.integer("workers", spec.resources.workers, 1, 4096);
      r.integer("min_workers", spec.resources.min_workers, 1, 4096);
      r.integer("cores", spec.resources.cores, 1, 1024);
      r.integer("gpus", spec.resources.gpus, 0, 64);
      gpus_given = res->contains("gpus");
    }
    if (const nlohmann::json* s = top.object("sync")) {
      SpecReader r(*s, "/sync", problems);
      parse_sync(r, spec.sync);
    }
    top.integer("priority", spec.priority, -1000, 1000);
    if (const nlohmann::json* rp = top.object("restart_policy")) {
      SpecReader r(*rp, "/restart_policy", problems);
      RestartPolicy policy;
      r.integer("max_restarts", policy.max_restarts, 0, 100);
      r.number("backoff_s", policy.backoff_s, 0.0, 3600.0);
      spec.restart_policy = policy;
    }
  }
  if (spec.resources.min_workers == 0) spec.resources.min_workers = spec.resources.workers;
  if (spec.resources.min_workers > spec.resources.workers)
    problems.push_back(
        {"/resources/min_workers", "is " + std::to_string(spec.resources.min_workers) +
                                       ", more than resources.workers (" +
                                       std::to_string(spec.resources.workers) + ")"});
  check_across_sections(spec, problems);
  // A task trains on the GPUs it is given (device_choice.h): "cuda" asks one.
  if (spec.train.device == DeviceChoice::kCuda && !gpus_given) spec.resources.gpus = 1;
  if (spec.train.device == DeviceChoice::kCuda && spec.resources.gpus == 0)
    problems.push_back({"/resources/gpus",
                        "is 0 but train.device is \"cuda\": a task trains on "
                        "the GPUs it is given"});
  if (spec.checkpoint.path.empty())
    spec.checkpoint.path = "runs/" + spec.name + "/final.safetensors";
  spec.checkpoint.dir =
      (std::filesystem::path(spec.checkpoint.path).parent_path() / "checkpoints").string();
  if (!problems.empty()) throw models::SpecError(std::move(problems));
  return spec;
}

JobSpec load_job_spec(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw models::SpecError({{"", "cannot read spec file " + path}});
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // Bounded as a REST body is: depth, duplicate keys, trailing bytes, NUL.
  const ops::JsonParse parsed = ops::parse_bounded_json(text);
  if (!parsed.error.empty())
    throw models::SpecError({{parsed.pointer, path + ": " + parsed.error}});
  return parse_job_spec(parsed.value);
}

}  // namespace ringmaster::training
