// The job spec: what a user submits (JSON) to train a model, parsed and
// validated once into typed sections (enums for every choice). Parsing is
// strict: an unknown field, a wrong type or an out-of-range value is reported
// by JSON pointer (`/train/batch_size`: must be >= 1), every problem at once.
// Defaults are filled in here, so the rest of the system reads a complete
// JobSpec. What crosses a process boundary is the JSON text (`source`),
// parsed into this type again on the other side. Does not check that files
// exist (the trainer does, when it runs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "comm/compression.h"
#include "models/augment.h"
#include "models/model_spec.h"
#include "models/spec_reader.h"

namespace ringmaster::training {

// How data-parallel replicas keep in step.
enum class SyncMode { kAllreduce, kParameterServer };  // "allreduce" | "ps"
// "fp32"; "fp16": mixed precision on a GPU (f16 compute, f32 master weights,
// dynamic loss scaling that skips a step on overflow).
enum class Precision { kFp32, kFp16 };
// "auto": a GPU when one is usable, else the CPU; "cpu"; "cuda" (fails at run
// time, naming the reason, when no GPU is usable).
enum class DeviceChoice { kAuto, kCpu, kCuda };
// What the data set's targets are (its task, task.h): not a spec field, the
// data set declares it (dataset_registry.h).
// kLanguageModel: text windows, each token scored on the ones before it.
// kCaptioning: images with reference sentences, decoded and scored by BLEU
// and CIDEr-D.
enum class TaskKind { kClassification, kSegmentation, kLanguageModel, kCaptioning, kDetection };
enum class OptimizerKind { kSgd, kAdam, kAdamW };  // "sgd" | "adam" | "adamw"

// The spec's spelling of each choice (comm::to_string spells Compression).
const char* to_string(SyncMode m);
const char* to_string(Precision p);
const char* to_string(DeviceChoice d);
const char* to_string(TaskKind t);
const char* to_string(OptimizerKind o);

struct DataSpec {
  std::string dataset = "fashion-mnist";      // a name in the data-set registry
  TaskKind task = TaskKind::kClassification;  // the data set's
  std::string path;                           // folder or file; empty: the data set's default
  int64_t train_limit = 0;                    // first N training samples (0: all)
  int64_t test_limit = 0;                     // first N test samples (0: all)
  int64_t train_per_class = 0;                // first N training samples of each class (0: all)
  std::vector<models::AugmentStep> augment;   // training batches only, in order
  // The data set's own fields (e.g. digits' test_fraction), read by its
  // reader in the registry.
  nlohmann::json options = nlohmann::json::object();
};

struct TrainSpec {
  int64_t epochs = 1;
  int64_t batch_size = 100;
  int64_t eval_batch_size = 1000;
  uint64_t seed = 1;
  int64_t threads = 0;  // 0: all cores
  DeviceChoice device = DeviceChoice::kAuto;
  Precision precision = Precision::kFp32;
};

struct OptimizerSpec {
  OptimizerKind name = OptimizerKind::kAdam;
  double lr = 0.001;
  double momentum = 0.0;  // sgd
  bool nesterov = false;  // sgd
  double weight_decay = 0.0;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
  double clip_grad_norm = 0.0;                    // > 0: clip the gradients' L2 norm to it
};

// The final checkpoint, and periodic ones for resuming (checkpoint_store.h)
// in <folder of path>/checkpoints/.
struct CheckpointSpec {
  std::string path;  // final checkpoint (safetensors); default runs/<name>/final.safetensors
  int64_t every_epochs = 0;  // 0: none at epoch ends
  int64_t every_steps = 0;   // 0: none between
  int64_t keep = 2;          // periodic checkpoints kept, newest first
  std::string dir;           // set by parse_job_spec from path
};

// Cluster resources: a gang of `workers` workers, each with at least `cores`
// CPU cores and `gpus` GPUs free. The coordinator's scheduler reads these; a
// single-process `ringmaster train` ignores them.
struct ResourcesSpec {
  int64_t workers = 1;  // gang size: the data-parallel world size
  // Elastic data-parallel: the job may run on fewer workers, down to this
  // many (the global batch and the data order stay; each rank's slice is
  // re-cut), and grows back at a checkpoint. Default (0 in, workers out):
  // the full gang only.
  int64_t min_workers = 0;
  int64_t cores = 1;  // per worker
  // Per worker; the task trains on the first of the GPUs it is given.
  // Default 1 when train.device is "cuda", else 0.
  int64_t gpus = 0;
};

// How data-parallel replicas (resources.workers > 1) keep in step.
struct SyncSpec {
  SyncMode mode = SyncMode::kAllreduce;
  comm::Compression compression = comm::Compression::kNone;  // fp16: scaled, error feedback
  double bucket_mb = 25.0;  // allreduce: gradients fused per bucket (MiB)
  int64_t staleness = 0;    // ps: SSP bound in steps (0 = BSP)
  int64_t shards = 1;       // ps: parameter-server shards the coordinator hosts
  double timeout_s = 60.0;  // a peer silent this long fails the job
};

// What the coordinator does when a worker of the running job dies (SIGKILL,
// heartbeat loss, a partition, a rank's lost peer): queue it again, to resume
// from its newest periodic checkpoint, up to max_restarts times, each after
// backoff_s. Unset: the coordinator's --max-restarts / --restart-backoff.
struct RestartPolicy {
  int64_t max_restarts = 3;
  double backoff_s = 5.0;
};

struct JobSpec {
  std::string name = "job";
  models::ModelSpec model;
  DataSpec data;
  TrainSpec train;
  OptimizerSpec optimizer;
  nlohmann::json lr_schedule = nlohmann::json::object();  // validated by the schedule builder
  CheckpointSpec checkpoint;
  ResourcesSpec resources;
  SyncSpec sync;
  int64_t priority = 0;  // higher is scheduled first; ties in submission order
  std::optional<RestartPolicy> restart_policy;
  nlohmann::json source;  // the spec as submitted
};

// Parses and validates; throws models::SpecError listing every problem.
JobSpec parse_job_spec(const nlohmann::json& j);
// Reads a file (a missing file or bad JSON is a SpecError at pointer "").
JobSpec load_job_spec(const std::string& path);

}  // namespace ringmaster::training
