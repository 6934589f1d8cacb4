// The scheduling policy as a pure function, checked against tables of fake
// clusters: priority then FIFO, gang placement (all or nothing, distinct
// workers, no partial gang holding resources), unschedulable jobs reported
// with their reason and not blocking others, GPU-aware best fit, backfill,
// elastic gangs (as many workers as are free, at least min_workers).
#include "coordinator/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace ringmaster::coordinator {
namespace {

// A worker: id, cores, gpus, slots; free = total unless given.
WorkerCapacity w(const std::string& id, int64_t cores, int64_t gpus = 0, int64_t slots = 1) {
  return {id, cores, gpus, slots, cores, gpus, slots};
}
WorkerCapacity busy(WorkerCapacity c) {
  c.free_slots = 0;
  c.free_cores = 0;
  c.free_gpus = 0;
  return c;
}
// "w" + std::to_string(i) trips GCC 12's -Wrestrict false positive at -O3.
std::string name(const char* prefix, int i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}
JobDemand job(const std::string& id, int64_t seq, int64_t priority = 0, int64_t workers = 1,
              int64_t cores = 1, int64_t gpus = 0) {
  return {id, priority, seq, workers, cores, gpus};
}

// An elastic data-parallel job: `workers` wanted, `min_workers` enough.
JobDemand elastic(const std::string& id, int64_t seq, int64_t workers, int64_t min_workers) {
  JobDemand d = job(id, seq, 0, workers);
  d.min_workers = min_workers;
  return d;
}

struct Case {
  const char* name;
  std::vector<WorkerCapacity> cluster;
  std::vector<JobDemand> queue;
  std::map<std::string, std::vector<std::string>> placed;  // job -> workers, exactly
  std::map<std::string, std::string> unschedulable;        // job -> part of the reason
};

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {"no workers: everything unschedulable, with the reason",
       {},
       {job("a", 1), job("b", 2)},
       {},
       {{"a", "no live workers"}, {"b", "no live workers"}}},
      {"one slot: the higher priority goes first",
       {w("w1", 4)},
       {job("low", 1, 0), job("high", 2, 5)},
       {{"high", {"w1"}}},
       {}},
      {"equal priority: submission order",
       {w("w1", 4)},
       {job("second", 2), job("first", 1)},
       {{"first", {"w1"}}},
       {}},
      {"gang of two on two distinct workers",
       {w("w1", 4), w("w2", 4), w("w3", 4)},
       {job("gang", 1, 0, 2)},
       {{"gang", {"w1", "w2"}}},
       {}},
      {"gang does not fit now: nothing held, smaller job behind it backfills",
       {w("w1", 4), busy(w("w2", 4))},
       {job("gang", 1, 0, 2), job("small", 2)},
       {{"small", {"w1"}}},
       {}},
      {"gang larger than the cluster is unschedulable and blocks nobody",
       {w("w1", 4), w("w2", 4)},
       {job("huge", 1, 9, 3), job("ok", 2)},
       {{"ok", {"w1"}}},
       {{"huge", "needs a gang of 3 workers; the cluster has 2"}}},
      {"too many cores per worker is unschedulable",
       {w("w1", 8), w("w2", 4)},
       {job("fat", 1, 0, 1, 64), job("ok", 2, 0, 1, 8)},
       {{"ok", {"w1"}}},
       {{"fat", "needs 64 cores per worker; the largest worker has 8"}}},
      {"GPUs nobody has is unschedulable",
       {w("w1", 8, 2)},
       {job("gpu4", 1, 0, 1, 1, 4)},
       {},
       {{"gpu4", "needs 4 GPUs per worker; the most any worker has is 2"}}},
      {"enough big workers individually but not enough of them",
       {w("big", 8), w("small", 2)},
       {job("pair", 1, 0, 2, 8)},
       {},
       {{"pair", "only 1 are that large"}}},
      {"CPU job leaves the GPU worker free; GPU job takes it",
       {w("gpu", 8, 4), w("cpu", 8)},
       {job("cpu-job", 1), job("gpu-job", 2, 0, 1, 1, 2)},
       {{"cpu-job", {"cpu"}}, {"gpu-job", {"gpu"}}},
       {}},
      {"best fit on cores: the smallest worker that fits",
       {w("w16", 16), w("w4", 4), w("w8", 8)},
       {job("j", 1, 0, 1, 4)},
       {{"j", {"w4"}}},
       {}},
      {"busy cluster: nothing placed, but nothing unschedulable either",
       {busy(w("w1", 4)), busy(w("w2", 4))},
       {job("a", 1), job("b", 2)},
       {},
       {}},
      {"a worker with two slots takes two jobs while its cores last",
       {w("w1", 4, 0, 2)},
       {job("a", 1, 0, 1, 2), job("b", 2, 0, 1, 2), job("c", 3, 0, 1, 1)},
       {{"a", {"w1"}}, {"b", {"w1"}}},
       {}},
      {"jobs too big for any worker are skipped; smaller ones behind them run",
       {w("w1", 2), w("w2", 2)},
       {job("four", 1, 0, 1, 4), job("three", 2, 0, 1, 3), job("one", 3, 0, 1, 1)},
       {{"one", {"w1"}}},
       {{"four", "needs 4 cores"}, {"three", "needs 3 cores"}}},
      {"elastic: the whole gang when it is free",
       {w("w1", 4), w("w2", 4), w("w3", 4)},
       {elastic("e", 1, 2, 1)},
       {{"e", {"w1", "w2"}}},
       {}},
      {"elastic: as many as are free, at least min_workers",
       {w("w1", 4), busy(w("w2", 4)), w("w3", 4)},
       {elastic("e", 1, 3, 2)},
       {{"e", {"w1", "w3"}}},
       {}},
      {"elastic below its minimum waits, and is not unschedulable",
       {w("w1", 4), busy(w("w2", 4)), busy(w("w3", 4))},
       {elastic("e", 1, 3, 2), job("one", 2)},
       {{"one", {"w1"}}},
       {}},
      {"elastic on a cluster smaller than its gang runs at its minimum",
       {w("w1", 4)},
       {elastic("e", 1, 2, 1), job("pair", 2, 0, 2)},
       {{"e", {"w1"}}},
       {{"pair", "needs a gang of 2 workers; the cluster has 1"}}},
      {"a shape that did not fit now skips larger ones, not smaller ones",
       {WorkerCapacity{"w1", 4, 0, 1, 2, 0, 1}, busy(w("w2", 4))},
       {job("three", 1, 0, 1, 3), job("four", 2, 0, 1, 4), job("one", 3, 0, 1, 1)},
       {{"one", {"w1"}}},
       {}},
  };
  return kCases;
}

TEST(Scheduler, TableOfFakeClusters) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    const Decision d = schedule({c.cluster}, c.queue);
    std::map<std::string, std::vector<std::string>> placed;
    for (const auto& p : d.placements) placed[p.job_id] = p.worker_ids;
    EXPECT_EQ(placed, c.placed);
    std::map<std::string, std::string> unsched;
    for (const auto& u : d.unschedulable) unsched[u.job_id] = u.reason;
    ASSERT_EQ(unsched.size(), c.unschedulable.size());
    for (const auto& [id, part] : c.unschedulable) {
      ASSERT_TRUE(unsched.count(id)) << id;
      EXPECT_NE(unsched[id].find(part), std::string::npos) << unsched[id];
    }
  }
}

TEST(Scheduler, PlacementsComeInQueueOrderAndNeverOverbook) {
  std::vector<WorkerCapacity> cluster;
  for (int i = 0; i < 10; ++i) cluster.push_back(w(name("w", i), 4, i % 3, 2));
  std::vector<JobDemand> queue;
  for (int i = 0; i < 200; ++i)
    queue.push_back(job(name("j", i), i, i % 4, 1 + i % 3, 1 + i % 4, i % 2));
  const Decision d = schedule({cluster}, queue);
  std::map<std::string, WorkerCapacity> left;
  for (const auto& c : cluster) left[c.id] = c;
  std::map<std::string, const JobDemand*> by_id;
  for (const auto& j : queue) by_id[j.id] = &j;
  const JobDemand* prev = nullptr;
  for (const auto& p : d.placements) {
    const JobDemand& j = *by_id[p.job_id];
    if (prev) {
      EXPECT_TRUE(queue_before(*prev, j));
    }
    prev = &j;
    ASSERT_EQ(static_cast<int64_t>(p.worker_ids.size()), j.workers);
    std::set<std::string> distinct(p.worker_ids.begin(), p.worker_ids.end());
    EXPECT_EQ(distinct.size(), p.worker_ids.size());
    for (const auto& id : p.worker_ids) {
      left[id].free_slots -= 1;
      left[id].free_cores -= j.cores;
      left[id].free_gpus -= j.gpus;
      EXPECT_GE(left[id].free_slots, 0);
      EXPECT_GE(left[id].free_cores, 0);
      EXPECT_GE(left[id].free_gpus, 0);
    }
  }
  EXPECT_FALSE(d.placements.empty());
}

TEST(Scheduler, IsAPureFunction) {
  const std::vector<WorkerCapacity> cluster = {w("a", 4, 1), w("b", 8)};
  const std::vector<JobDemand> queue = {job("x", 1, 0, 1, 2), job("y", 2, 0, 1, 1, 1)};
  const Decision d1 = schedule({cluster}, queue), d2 = schedule({cluster}, queue);
  ASSERT_EQ(d1.placements.size(), d2.placements.size());
  for (size_t i = 0; i < d1.placements.size(); ++i) {
    EXPECT_EQ(d1.placements[i].job_id, d2.placements[i].job_id);
    EXPECT_EQ(d1.placements[i].worker_ids, d2.placements[i].worker_ids);
  }
}

}  // namespace
}  // namespace ringmaster::coordinator
