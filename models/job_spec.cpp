// Strict job-spec parsing (see job_spec.h). Each section is read by a small
// Reader that records which keys it consumed, so any key left over is an
// "unknown field" problem at its JSON pointer.
#include "models/job_spec.h"

#include <fstream>
#include <set>
#include <sstream>

#include "models/lr_schedule.h"
#include "models/model_registry.h"

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

const char* type_name(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_float:
      return "a number";
    default:
      return "an integer";
  }
}

class Reader {
 public:
  Reader(const nlohmann::json& j, std::string pointer, std::vector<SpecProblem>& problems)
      : j_(j), pointer_(std::move(pointer)), problems_(problems) {
    ok_ = j.is_object();
    if (!ok_) problem("", std::string("must be an object, got ") + type_name(j));
  }
  ~Reader() {
    if (!ok_) return;
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!used_.count(it.key())) problem("/" + it.key(), "unknown field");
    }
  }

  void string(const char* key, std::string& out, const std::set<std::string>& allowed = {}) {
    const nlohmann::json* v = find(key);
    if (!v) return;
    if (!v->is_string()) return problem(key, std::string("must be a string, got ") + type_name(*v));
    const std::string s = v->get<std::string>();
    if (!allowed.empty() && !allowed.count(s)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return problem(key, "must be one of " + list + ", got \"" + s + "\"");
    }
    out = s;
  }

  template <class Int>
  void integer(const char* key, Int& out, int64_t min, int64_t max = INT64_MAX) {
    const nlohmann::json* v = find(key);
    if (!v) return;
    if (!v->is_number_integer())
      return problem(key, std::string("must be an integer, got ") + type_name(*v));
    const int64_t x =
        v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX ? INT64_MAX : v->get<int64_t>();
    if (x < min) return problem(key, "must be >= " + std::to_string(min));
    if (x > max) return problem(key, "must be <= " + std::to_string(max));
    out = static_cast<Int>(x);
  }

  void number(const char* key, double& out, double min, double max, bool min_open = false) {
    const nlohmann::json* v = find(key);
    if (!v) return;
    if (!v->is_number()) return problem(key, std::string("must be a number, got ") + type_name(*v));
    const double x = v->get<double>();
    if (min_open ? !(x > min) : !(x >= min))
      return problem(key, std::string("must be ") + (min_open ? "> " : ">= ") + fmt(min));
    if (!(x <= max)) return problem(key, "must be <= " + fmt(max));
    out = x;
  }

  void boolean(const char* key, bool& out) {
    const nlohmann::json* v = find(key);
    if (!v) return;
    if (!v->is_boolean())
      return problem(key, std::string("must be a boolean, got ") + type_name(*v));
    out = v->get<bool>();
  }

  // A nested object, handed back raw (its own reader validates it).
  const nlohmann::json* object(const char* key) {
    const nlohmann::json* v = find(key);
    if (v && !v->is_object()) {
      problem(key, std::string("must be an object, got ") + type_name(*v));
      return nullptr;
    }
    return v;
  }

  std::string child(const char* key) const { return pointer_ + "/" + key; }
  void problem(const std::string& key, const std::string& reason) {
    const std::string k = key.empty() || key[0] == '/' ? key : "/" + key;
    problems_.push_back({pointer_ + k, reason});
  }

 private:
  static std::string fmt(double d) {
    std::ostringstream os;
    os << d;
    return os.str();
  }
  const nlohmann::json* find(const char* key) {
    if (!ok_) return nullptr;
    used_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }

  const nlohmann::json& j_;
  std::string pointer_;
  std::vector<SpecProblem>& problems_;
  std::set<std::string> used_;
  bool ok_ = false;
};

}  // namespace

JobSpec parse_job_spec(const nlohmann::json& j) {
  std::vector<SpecProblem> problems;
  JobSpec spec;
  spec.source = j;
  {
    Reader top(j, "", problems);
    top.string("name", spec.name);
    if (const nlohmann::json* m = top.object("model")) {
      Reader r(*m, "/model", problems);
      const std::vector<std::string> names = model_names();
      r.string("name", spec.model.name, std::set<std::string>(names.begin(), names.end()));
    }
    if (const nlohmann::json* d = top.object("data")) {
      Reader r(*d, "/data", problems);
      r.string("dataset", spec.data.dataset, {"digits", "fashion-mnist"});
      r.string("path", spec.data.path);
      r.integer("train_limit", spec.data.train_limit, 0);
      r.integer("test_limit", spec.data.test_limit, 0);
      double frac = -1.0;
      r.number("test_fraction", frac, 0.0, 0.9, true);
      if (frac > 0.0) spec.data.test_fraction_permille = static_cast<int64_t>(frac * 1000.0 + 0.5);
    }
    if (const nlohmann::json* t = top.object("train")) {
      Reader r(*t, "/train", problems);
      r.integer("epochs", spec.train.epochs, 1, 100000);
      r.integer("batch_size", spec.train.batch_size, 1, 1 << 20);
      r.integer("eval_batch_size", spec.train.eval_batch_size, 1, 1 << 20);
      r.integer("seed", spec.train.seed, 0);
      r.integer("threads", spec.train.threads, 0, 1024);
    }
    if (const nlohmann::json* o = top.object("optimizer")) {
      Reader r(*o, "/optimizer", problems);
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
      } catch (const std::exception& e) {
        problems.push_back({"/lr_schedule", e.what()});
      }
    }
    if (const nlohmann::json* c = top.object("checkpoint")) {
      Reader r(*c, "/checkpoint", problems);
      r.string("path", spec.checkpoint.path);
    }
    if (const nlohmann::json* res = top.object("resources")) {
      Reader r(*res, "/resources", problems);
      r.integer("workers", spec.resources.workers, 1, 4096);
      r.integer("cores", spec.resources.cores, 1, 1024);
      r.integer("gpus", spec.resources.gpus, 0, 64);
      if (spec.resources.workers > 1)
        r.problem("workers",
                  "data-parallel training is not available yet: a job runs on 1 worker");
    }
    top.integer("priority", spec.priority, -1000, 1000);
  }
  if (spec.data.dataset == "digits" && spec.data.test_fraction_permille == 0)
    spec.data.test_fraction_permille = 280;
  if (spec.data.dataset != "digits" && spec.data.test_fraction_permille != 0)
    problems.push_back(
        {"/data/test_fraction", "only for the digits data set (fashion-mnist has a test set)"});
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
