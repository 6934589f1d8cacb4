// Periodic checkpoints of a run, for an exact resume (checkpoint.every_epochs,
// every_steps, keep). One checkpoint is one folder <dir>/step-<N>/ holding the
// model's state dict, the optimizer's state, the run's position and random
// streams (state.json) and, written last, manifest.json naming every file
// with its size and CRC-32. It is built under a temporary name (every file
// fsynced), renamed into place and the folder fsynced, so a kill at any
// instant leaves the previous checkpoints whole and no half-written one under
// a final name. On reading, a folder whose manifest is missing or unreadable,
// or whose files do not match it (truncated, corrupted, missing), is skipped
// with a log line, never loaded. After a write only the newest `keep` remain
// (an older one loses its manifest first, so a half-removed one is skipped).
//
// Errors: ops::Error naming the path. Blocks on I/O; one writer per folder.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "models/tensor_map.h"

namespace ringmaster::training {

struct StoredCheckpoint {
  int64_t step = 0;  // training steps done when it was written
  std::string folder;
  models::TensorMap model, optimizer;
  nlohmann::json state;  // the trainer's position and random streams
};

class CheckpointStore {
 public:
  CheckpointStore(std::string dir, int64_t keep);

  const std::string& dir() const { return dir_; }

  // Writes checkpoint `step` (replacing one of that step), then removes all
  // but the newest `keep`, and leftovers of interrupted writes. Returns its
  // folder.
  std::string write(int64_t step, const models::TensorMap& model,
                    const models::TensorMap& optimizer, const nlohmann::json& state);

  // The newest whole checkpoint (at most `at_most` steps when given), or
  // nullopt when there is none; every one skipped is said through `log`.
  std::optional<StoredCheckpoint> newest(const std::function<void(const std::string&)>& log,
                                         std::optional<int64_t> at_most = std::nullopt) const;

  // The checkpoint of exactly `step`, checked as newest() checks; throws
  // ops::Error naming why when it is missing or damaged.
  StoredCheckpoint load(int64_t step) const;

 private:
  std::string dir_;
  int64_t keep_;
};

}  // namespace ringmaster::training
