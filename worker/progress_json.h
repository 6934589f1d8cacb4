// The trainer's progress in the form it travels: its step and epoch
// reports as comm's report types (comm/progress_report.h, the one
// declaration of their fields), back again for display, and the final
// result as JSON (the `finished` message's result and `--metrics-out`).
#pragma once

#include <nlohmann/json.hpp>

#include "comm/progress_report.h"
#include "training/trainer.h"

namespace ringmaster::worker {

comm::StepReport to_report(const training::StepProgress& p);
comm::EpochReport to_report(const training::EpochReport& r);
// For display: an absent field reads as 0 (`trained` as true).
training::StepProgress from_report(const comm::StepReport& r);
training::EpochReport from_report(const comm::EpochReport& r);

comm::ResultReport to_report(const training::TrainResult& r);
nlohmann::json to_json(const training::TrainResult& r);  // comm::to_json(to_report(r))

}  // namespace ringmaster::worker
