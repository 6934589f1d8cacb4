// The job spec: what a user submits (JSON) to train a model. Parsing is
// strict: an unknown field, a wrong type or an out-of-range value is reported
// by JSON pointer (`/train/batch_size`: must be >= 1), every problem at once.
// Defaults are filled in here, so the rest of the system reads a complete
// JobSpec. Does not check that files exist (the trainer does, when it runs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringmaster::models {

struct SpecProblem {
  std::string pointer;  // JSON pointer of the bad field, e.g. "/train/batch_size"
  std::string reason;   // e.g. "must be >= 1"
};

// Thrown by parse_job_spec with every problem found.
class SpecError : public std::runtime_error {
 public:
  explicit SpecError(std::vector<SpecProblem> problems);
  const std::vector<SpecProblem>& problems() const { return problems_; }

 private:
  std::vector<SpecProblem> problems_;
};

struct ModelSpec {
  std::string name = "deep_convnet";
};

struct DataSpec {
  std::string dataset = "fashion-mnist";  // "fashion-mnist" | "digits"
  std::string path;                       // folder or file; default per dataset
  int64_t train_limit = 0;                // first N training samples (0: all)
  int64_t test_limit = 0;                 // first N test samples (0: all)
  int64_t test_fraction_permille = 0;     // digits only: held-out share (default 280 = 28%)
};

struct TrainSpec {
  int64_t epochs = 1;
  int64_t batch_size = 100;
  int64_t eval_batch_size = 1000;
  uint64_t seed = 1;
  int64_t threads = 0;  // 0: all cores
};

struct OptimizerSpec {
  std::string name = "adam";  // "sgd" | "adam" | "adamw"
  double lr = 0.001;
  double momentum = 0.0;  // sgd
  bool nesterov = false;  // sgd
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
};

struct CheckpointSpec {
  std::string path;  // final checkpoint (safetensors); default runs/<name>/final.safetensors
};

// Cluster resources: a gang of `workers` workers, each with at least `cores`
// CPU cores and `gpus` GPUs free. The coordinator's scheduler reads these; a
// single-process `ringmaster train` ignores them.
struct ResourcesSpec {
  int64_t workers = 1;  // gang size; > 1 is rejected until data-parallel training exists
  int64_t cores = 1;    // per worker
  int64_t gpus = 0;     // per worker
};

struct JobSpec {
  std::string name = "job";
  ModelSpec model;
  DataSpec data;
  TrainSpec train;
  OptimizerSpec optimizer;
  nlohmann::json lr_schedule = nlohmann::json::object();  // validated by the schedule builder
  CheckpointSpec checkpoint;
  ResourcesSpec resources;
  int64_t priority = 0;   // higher is scheduled first; ties in submission order
  nlohmann::json source;  // the spec as submitted
};

// Parses and validates; throws SpecError listing every problem.
JobSpec parse_job_spec(const nlohmann::json& j);
// Reads a file (a missing file or bad JSON is a SpecError at pointer "").
JobSpec load_job_spec(const std::string& path);
// One line per problem: "/train/batch_size: must be >= 1".
std::string format_problems(const std::vector<SpecProblem>& problems);

}  // namespace ringmaster::models
