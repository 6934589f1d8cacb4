// Validation of a submitted job body, beyond the spec's own rules: the JSON
// must parse, the spec must be valid (the SpecParser handed in), the paths it
// reads must lie under the cluster's roots (the ReadPathCheck handed in), and
// the checkpoint must land under the coordinator's checkpoint root and outside
// its state folder. A relative checkpoint path is relative to the root; none
// means <root>/<name>/final.safetensors. Produces the normalised spec workers
// receive (checkpoint path absolute). Pure apart from resolving symlinks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "training/job_spec.h"

namespace ringmaster::coordinator {

// The job-spec parser the coordinator is handed (training::parse_job_spec):
// it validates every field, the architecture's and the data set's own
// included, without the coordinator linking the model zoo. Throws
// models::SpecError.
using SpecParser = std::function<training::JobSpec(const nlohmann::json& spec)>;

// The check of the paths a parsed spec reads against the cluster's roots
// (training::read_path_problems, handed in as the parser is): a problem per
// path outside them.
using ReadPathCheck =
    std::function<std::vector<models::SpecProblem>(const training::JobSpec& spec)>;

struct SubmissionPolicy {
  std::filesystem::path checkpoint_root;  // absolute; checkpoints must be below it
  std::filesystem::path state_dir;        // absolute; checkpoints must not be in it
  SpecParser parse;                       // required
  ReadPathCheck check_read_paths;         // unset: reads are not checked here
  // For a spec without restart_policy.
  int64_t max_restarts = 3;
  double restart_backoff_s = 5.0;
};

struct Submission {
  training::JobSpec spec;
  nlohmann::json normalised;  // what workers run
};

// Throws models::SpecError naming every bad field by JSON pointer (pointer ""
// for a body that is not JSON).
Submission validate_submission(const std::string& body, const SubmissionPolicy& policy);

// FNV-1a, for telling a retried request from a different one.
uint64_t fingerprint(const std::string& bytes);

}  // namespace ringmaster::coordinator
