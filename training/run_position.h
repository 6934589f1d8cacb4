// Where a run stands, besides its tensors: what a periodic checkpoint keeps in
// state.json so that a resumed run goes on exactly as the uninterrupted one
// would (checkpoint_store.h). The LR schedule and the data order need only
// the position (the schedule is a function of epoch and step; the epoch's
// permutation and each sample's augmentation are functions of seed, epoch
// and sample); every module that draws at random in training (dropout, a
// detector's samplers: models/random_draws.h) needs its count of draws;
// fp16 needs the loss scaler. The epoch's partial training figures and the last finished
// epoch's come along so the reports read as if nothing happened.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/module.h"

namespace ringmaster::training {

struct ScalerState {
  double scale = 0.0;
  int64_t good_in_a_row = 0, skipped = 0;
};

struct RunPosition {
  // The next step to train: batch `step_in_epoch` of 0-based `epoch`
  // (step_in_epoch == steps per epoch: the epoch's evaluation is next).
  int64_t epoch = 0, step_in_epoch = 0;
  int64_t steps = 0;  // steps trained so far, all epochs
  // What must match for the position to mean the same batches.
  uint64_t seed = 0;
  int64_t batch_size = 0, steps_per_epoch = 0;
  // Each RandomDraws module's count, by module name (the root's is ""); the
  // name is from when dropout was the only one.
  std::map<std::string, uint64_t> dropout_calls;
  std::optional<ScalerState> scaler;  // fp16 only
  // This epoch's training figures so far (Tally's flat form, all ranks
  // summed), its global samples and training seconds; training time and
  // samples of all epochs, this one's so far included.
  std::vector<double> epoch_tally;
  double epoch_samples = 0.0, epoch_seconds = 0.0, train_seconds = 0.0, train_samples = 0.0;
  // The last finished epoch's figures (epochs_done 0: none yet).
  int64_t epochs_done = 0;
  double train_loss = 0.0, train_accuracy = 0.0, test_loss = 0.0, test_accuracy = 0.0;
  double test_mean_iou = -1.0;
  std::map<std::string, double> test_figures;  // the task's own
};

nlohmann::json to_json(const RunPosition& p);
// Throws ops::Error naming the field that is missing or mistyped.
RunPosition run_position_from_json(const nlohmann::json& j);

// Each RandomDraws module's draws so far (dropout layers, detectors), by
// module name; and back. Restoring a name the model lacks, or leaving one of
// its modules out, throws ops::Error.
std::map<std::string, uint64_t> dropout_calls(models::Module& model);
void restore_dropout_calls(models::Module& model, const std::map<std::string, uint64_t>& calls);

}  // namespace ringmaster::training
