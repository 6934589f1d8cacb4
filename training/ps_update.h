// What a parameter-server shard does with a job's gradients: the job's own
// optimizer and LR schedule (optimizer.h, lr_schedule.h) over the shard's
// tensors, advanced per optimizer step as the trainer does. The coordinator
// hosts shards without this code: it is handed make_ps_update_from_json (see
// coordinator/ps_host.h); the standalone `ringmaster ps` uses
// make_ps_update_factory_from_init. Building an update does not block; the
// update runs on the shard's thread.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "comm/ps_common.h"
#include "training/job_spec.h"

namespace ringmaster::training {

// The spec's optimizer and LR schedule, and the steps per epoch the schedule
// counts in. Step s (BSP: the global step; SSP: the pushing rank's step) runs
// at schedule.lr_at(s / steps_per_epoch, s % steps_per_epoch,
// steps_per_epoch), which is what the trainer sets before its optimizer step s.
struct PsUpdateConfig {
  OptimizerSpec optimizer;
  nlohmann::json lr_schedule = nlohmann::json::object();  // empty: constant
  int64_t steps_per_epoch = 1;

  // From a job spec; steps_per_epoch = ceil(train samples / global batch).
  static PsUpdateConfig from_spec(const JobSpec& spec, int64_t steps_per_epoch);
  // {"optimizer": {spec optimizer fields}, "lr_schedule": {...}, "steps_per_epoch": n}: the
  // `update` object a client sends to a shard (PsClientOptions::update).
  nlohmann::json to_json() const;
  // The inverse; validates with the job-spec rules. Throws models::SpecError
  // (or ops::Error) naming the bad field.
  static PsUpdateConfig from_json(const nlohmann::json& j);
};

// The optimizer step over `weights` (which it marks requires_grad).
comm::PsUpdate make_ps_update(const PsUpdateConfig& config, comm::PsTensors& weights);
// The same from the JSON form; a bad configuration throws ops::Error naming
// the field.
comm::PsUpdate make_ps_update_from_json(const nlohmann::json& config, comm::PsTensors& weights);

// An update factory that reads each job's configuration from its init
// (PsJobInfo::update, see PsUpdateConfig::to_json): `ringmaster ps`.
comm::PsUpdateFactory make_ps_update_factory_from_init();

}  // namespace ringmaster::training
