// GradientSync: how one rank's gradients become the global batch's mean
// gradient, and who applies the step. The trainer calls it without knowing
// which it has:
//   - one process (no peers: the optimizer steps here);
//   - all-reduce, DDP-style buckets over the ZeroMQ ring, or over NCCL when
//     the parameters live on a GPU (allreduce_sync.cpp, gradient_reducer.h);
//   - the parameter server: the shards hold the weights and step the
//     optimizer (ps_sync.h).
// make_gradient_sync is the one place that chooses. Used from the training
// thread only; the calls that talk to peers block, and throw
// comm::CommError when a peer fails (within sync.timeout_s).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/module.h"
#include "ops/autograd.h"
#include "ops/tensor.h"
#include "training/data_parallel.h"
#include "training/job_spec.h"

namespace ringmaster::training {

// Which part of the test set this rank evaluates: the rank-th of `world`
// slices of every batch; world 0: none (another rank evaluates everything).
struct EvalShare {
  int rank = 0, world = 1;
};

class GradientSync {
 public:
  virtual ~GradientSync() = default;

  // The log line that says how this rank keeps in step; empty when alone.
  virtual std::string describe() const = 0;
  // Before a step's forward. share: this rank's samples / the global batch's.
  virtual void begin_step(double share) = 0;
  // What backward is seeded with (1 alone), after begin_step.
  virtual double backward_seed() const = 0;
  // Installed around backward (ops::LeafGradHookGuard); empty for none.
  virtual ops::LeafGradHook backward_hook() = 0;
  // After backward (or instead of it when this rank's share is empty): makes
  // the gradients the global batch's and applies the step of global step
  // `step`, calling `local_update` where this rank steps its own optimizer
  // (it returns false when it skipped the step, e.g. on fp16 overflow).
  // Returns what local_update returned, true when the step was remote.
  virtual bool finish_step(int64_t step, const std::function<bool()>& local_update) = 0;

  virtual EvalShare eval_share() const = 0;
  // Element-wise sums over the ranks that evaluate (metrics).
  virtual std::vector<double> sum(const std::vector<double>& values) = 0;
  // Makes `tensors` (f32, e.g. batch-norm running statistics) the mean over
  // the ranks, bit for bit the same on every rank; a no-op alone.
  virtual void average(std::vector<ops::Tensor>& tensors) = 0;
  // False when the optimizer's state lives elsewhere (the shards).
  virtual bool holds_optimizer_state() const = 0;
  virtual SyncStats stats() const = 0;
  // The run is over (tells the shards this rank is done; best effort).
  virtual void finish() = 0;
};

// The sync for this rank: one process when dp is null or its world is 1,
// else sync.mode's over the model's trainable parameters. The peers meet
// here (rendezvous); all-reduce starts every rank from rank 0's weights, the
// parameter server from its shards'. Throws ops::Error or comm::CommError.
std::unique_ptr<GradientSync> make_gradient_sync(const JobSpec& spec, const DataParallel* dp,
                                                 models::Module& model, int64_t steps_per_epoch);

}  // namespace ringmaster::training
