// Scheduling as a pure function: (cluster snapshot, queue) -> placements and
// the jobs that no cluster of today's size could ever hold. No locks, no I/O,
// no clock, so it is tested with tables of fake clusters and benchmarked
// alone. Gang placement: a job gets all of its workers at once or none (an
// elastic one, min_workers < workers: as many as are free, at least
// min_workers).
// Does not move or preempt running tasks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringmaster::coordinator {

// A live worker: what it has and what is free now.
struct WorkerCapacity {
  std::string id;
  int64_t cores = 0, gpus = 0, slots = 1;  // totals
  int64_t free_cores = 0, free_gpus = 0, free_slots = 0;
};

struct ClusterSnapshot {
  std::vector<WorkerCapacity> workers;  // live workers only
};

// A queued job's demand: a gang of `workers` workers, each with at least
// `cores` cores and `gpus` GPUs free and one free task slot.
struct JobDemand {
  std::string id;
  int64_t priority = 0;  // higher first
  int64_t seq = 0;       // submission order: lower first within a priority
  int64_t workers = 1, cores = 1, gpus = 0;
  int64_t not_before_ms = 0;  // restarting: not to start before (Unix ms); the queue filters
  // Elastic: a gang of fewer workers, down to this many, when no more are
  // free (0: workers). full_gang_until_ms: JobManager::queue raises
  // min_workers to workers until then.
  int64_t min_workers = 0, full_gang_until_ms = 0;
};

struct Placement {
  std::string job_id;
  std::vector<std::string> worker_ids;  // one per gang member, distinct
};

struct Unschedulable {
  std::string job_id;
  int64_t seq = 0;     // the job's JobDemand::seq (lets the job manager skip a lookup by id)
  std::string reason;  // e.g. "needs 64 cores per worker; the largest worker has 8"
};

struct Decision {
  std::vector<Placement> placements;  // in queue order
  std::vector<Unschedulable> unschedulable;
};

// Queue order: priority (higher first), then submission order.
bool queue_before(const JobDemand& a, const JobDemand& b);

// The policy ("priority, FIFO, backfill, best fit"):
// - jobs are taken in queue_before order (the queue may come in any order;
//   it is cheapest when already sorted);
// - a job the cluster could not hold even if it were idle is reported in
//   `unschedulable` with the reason and skipped, so it blocks nobody;
// - a job that fits now gets its gang: the workers whose free GPUs, then
//   free cores, exceed its need by the least (GPU workers stay free for GPU
//   jobs); ties go to the earlier worker in the snapshot;
// - a job that does not fit now is passed over and smaller jobs behind it may
//   start (backfill). Known limit: a large gang can wait behind a stream of
//   small jobs; reservations are a later policy.
// Cost: O(queue + placements x workers).
Decision schedule(const ClusterSnapshot& cluster, const std::vector<JobDemand>& queue);

}  // namespace ringmaster::coordinator
