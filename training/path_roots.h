// Where a job's files may be: the folders a worker lets the specs it runs
// read data from and read or write checkpoints in. Every path a spec names
// is resolved (relative ones against the working folder, symlinks of the
// parts that exist followed) and must lie under one of them:
//   /data/path                         a data root
//   /model/init/checkpoint, ensemble   a checkpoint root or a data root
//     members' checkpoint and init       (pretrained weights ship as data)
//   /checkpoint/path (and its folder   a checkpoint root
//     of periodic checkpoints)
// The files a tfjs manifest names must stay in the manifest's folder
// (models/tfjs_weights.h). A data set's default path is the code's choice
// and is not checked. `ringmaster worker --data-root/--checkpoint-root` and
// the coordinator's flags of the same names set them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "models/spec_reader.h"
#include "training/job_spec.h"

namespace ringmaster::training {

struct PathRoots {
  std::vector<std::filesystem::path> data;
  std::vector<std::filesystem::path> checkpoints;
};

// The defaults: data under /usr/share/datasets (Debian's data sets) and
// ./data; checkpoints under ./runs (the coordinator's default root).
PathRoots default_path_roots();

// Absolute and with symlinks resolved where the folders exist, so a root
// given through a link still holds what lies under its target.
PathRoots resolve_roots(const PathRoots& roots);

// One problem per path outside its roots, naming the field (JSON pointer)
// and the roots; empty when every path is allowed. `roots` as from
// resolve_roots. Never reads or echoes the files.
std::vector<models::SpecProblem> path_problems(const JobSpec& spec, const PathRoots& roots);

// Only the paths a job reads (data, initial and ensemble weights): what the
// coordinator checks at submission, which has its own rule for
// checkpoint.path (coordinator/submission.h).
std::vector<models::SpecProblem> read_path_problems(const JobSpec& spec, const PathRoots& roots);

// Throws models::SpecError listing path_problems, if any.
void confine_paths(const JobSpec& spec, const PathRoots& roots);

// True when `p` (absolute, normalised) is `dir` or lies below it.
bool is_under(const std::filesystem::path& p, const std::filesystem::path& dir);

}  // namespace ringmaster::training
