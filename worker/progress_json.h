// The trainer's progress reports as JSON, the form they travel in from a
// worker to the coordinator and on to `ringmaster submit --follow`. Missing or
// mistyped fields read as 0, since the reports are for display only.
#pragma once

#include <nlohmann/json.hpp>

#include "worker/trainer.h"

namespace ringmaster::worker {

nlohmann::json to_json(const StepProgress& p);
nlohmann::json to_json(const EpochReport& r);
nlohmann::json to_json(const TrainResult& r);
StepProgress step_from_json(const nlohmann::json& j);
EpochReport epoch_from_json(const nlohmann::json& j);

}  // namespace ringmaster::worker
