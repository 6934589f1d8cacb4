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

#include "models/augment.h"

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

struct DataSpec {
  // "fashion-mnist" | "digits" | "fashion-composites" | "lfw-subset"
  std::string dataset = "fashion-mnist";
  std::string path;                    // folder or file; default per dataset
  int64_t train_limit = 0;             // first N training samples (0: all)
  int64_t test_limit = 0;              // first N test samples (0: all)
  int64_t train_per_class = 0;         // first N training samples of each class (0: all)
  int64_t test_fraction_permille = 0;  // digits (default 280 = 28%), lfw-subset (500)
  int64_t split_seed = -1;             // digits, lfw-subset: the split's seed (-1: train.seed)
  int64_t image_size = 0;              // lfw-subset only: resized side (0: 150)
  std::vector<AugmentStep> augment;    // training batches only, in order
  // fashion-composites (segmentation) only: see models/composites.h.
  int64_t composite_size = 64, composite_train = 4000, composite_test = 1000;
  int64_t composite_max_items = 3;
  uint64_t composite_seed = 1;
};

struct TrainSpec {
  int64_t epochs = 1;
  int64_t batch_size = 100;
  int64_t eval_batch_size = 1000;
  uint64_t seed = 1;
  int64_t threads = 0;  // 0: all cores
  // "auto": a GPU when one is usable, else the CPU; "cpu"; "cuda" (fails
  // at run time, naming the reason, when no GPU is usable).
  std::string device = "auto";
  // "fp32"; "fp16": mixed precision on a GPU (f16 compute, f32 master
  // weights, dynamic loss scaling that skips a step on overflow).
  std::string precision = "fp32";
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
  int64_t workers = 1;  // gang size: the data-parallel world size
  int64_t cores = 1;    // per worker
  int64_t gpus = 0;     // per worker
};

// How data-parallel replicas (resources.workers > 1) keep in step.
struct SyncSpec {
  std::string mode = "allreduce";    // "allreduce" (ring) | "ps" (parameter server)
  std::string compression = "none";  // "none" (exact) | "fp16" (scaled, error feedback)
  double bucket_mb = 25.0;           // allreduce: gradients fused per bucket (MiB)
  int64_t staleness = 0;             // ps: SSP bound in steps (0 = BSP)
  int64_t shards = 1;                // ps: parameter-server shards the coordinator hosts
  double timeout_s = 60.0;           // a peer silent this long fails the job
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
  SyncSpec sync;
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
