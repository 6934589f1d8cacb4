// Data-parallel training through the parameter server (sync.mode "ps"): the
// shards hold the weights and step the optimizer; every step this rank pushes
// its gradient and pulls the new weights (BSP, or SSP with sync.staleness).
// Gradients are seeded with (this rank's share of the global batch x world
// size), so the shards' mean over the ranks is the global batch's mean
// gradient, as with the all-reduce.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "comm/ps_client.h"
#include "comm/transport.h"
#include "models/job_spec.h"
#include "ops/tensor.h"
#include "worker/data_parallel.h"

namespace ringmaster::worker {

class PsSync {
 public:
  // Meets the peers (for the shards' endpoints: the coordinator's, else
  // dp.ps_servers), joins the job on the shards (rank 0 seeds the weights)
  // and pulls the starting weights into `params` (name, tensor: the
  // trainable parameters). Throws ops::Error / comm::CommError.
  PsSync(std::vector<std::pair<std::string, ops::Tensor>> params, const DataParallel& dp,
         const models::JobSpec& spec, int64_t steps_per_epoch);
  ~PsSync();

  // After backward of global step `step` (or instead of it when this rank's
  // share is empty): pushes .grad() (zeros where undefined), pulls the
  // weights of step + 1 into the parameters. Throws comm::CommError.
  void step(int64_t step);
  // Tells the shards this rank is done (best effort).
  void finish();

  double backward_seed(double weight) const { return weight * world_; }
  const SyncStats& stats() const { return stats_; }
  size_t shard_count() const { return shards_; }

 private:
  void load(const comm::PsTensors& weights);

  std::vector<std::pair<std::string, ops::Tensor>> params_;
  int world_ = 1;
  bool fp16_ = false;
  size_t shards_ = 0;
  uint64_t f32_bytes_ = 0;  // the parameters' size in f32
  comm::Context ctx_;
  std::unique_ptr<comm::ParameterServerClient> client_;
  comm::PsTensors pulled_;
  SyncStats stats_;
};

}  // namespace ringmaster::worker
