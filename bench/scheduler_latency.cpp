// Scheduling-decision latency, 1,000 simulated workers x 10,000 queued jobs
// (issue 3: p99 <= 5 ms): p50/p99 wall and on-CPU time of the policy alone and
// of a whole control-plane pass (snapshot, queue, policy, unschedulable marks;
// in-memory store), as random workers free up in a saturated cluster whose
// queue is kept at depth. Run by hand; never part of the test suite.
#include <time.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>

#include "coordinator/job_manager.h"
#include "coordinator/scheduler.h"
#include "coordinator/worker_registry.h"

namespace rc = ringmaster::coordinator;
using Clock = std::chrono::steady_clock;

namespace {

// Enough of a store for the JobManager, in memory.
class MemoryStore final : public rc::JobStore {
 public:
  void put(const rc::Job& j) override { seq_ = std::max(seq_, j.seq + 1); }
  void remove(const std::string&) override {}
  std::vector<rc::Job> load_all() override { return {}; }
  int64_t next_seq() override { return seq_; }
  void append_log(const std::string&, int64_t, const std::vector<std::string>&) override {}
  std::vector<std::string> read_log(const std::string&, int64_t, int64_t) override { return {}; }
  int64_t log_size(const std::string&) override { return 0; }
  int64_t log_bytes(const std::string&) override { return 0; }

 private:
  int64_t seq_ = 1;
};

// On-CPU time of this thread: the cost of a decision without the time the
// kernel gave our core to someone else (shared machines).
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

struct Stats {
  std::vector<double> ms;
  void add(Clock::duration d) {
    ms.push_back(std::chrono::duration<double, std::milli>(d).count());
  }
  double pct(double p) {
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * static_cast<double>(ms.size())))];
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"scheduling-decision latency"};
  int workers = 1000, jobs = 10000, rounds = 2000, freed = 4;
  app.add_option("--workers", workers)->capture_default_str();
  app.add_option("--jobs", jobs)->capture_default_str();
  app.add_option("--rounds", rounds)->capture_default_str();
  app.add_option("--freed", freed, "workers freed per round")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::mt19937_64 rng(7);
  // 80% CPU workers (16 or 32 cores), 20% GPU workers (8 GPUs, 64 cores).
  rc::WorkerRegistry registry(std::chrono::hours(1));
  std::vector<rc::WorkerCapacity> cluster;
  for (int i = 0; i < workers; ++i) {
    rc::WorkerInfo w;
    w.id = "w" + std::to_string(i);
    const bool gpu = i % 5 == 0;
    w.cores = gpu ? 64 : (i % 2 ? 16 : 32);
    w.gpus = gpu ? 8 : 0;
    w.slots = 1;
    registry.upsert(w, Clock::now());
    cluster.push_back({w.id, w.cores, w.gpus, 1, w.cores, w.gpus, 1});
  }
  // Jobs: mostly 1-8 cores, some 1-4 GPUs, priorities 0-3, a few impossible ones.
  MemoryStore store;
  rc::JobManager manager(store);
  std::vector<rc::JobDemand> queue;
  // A job of the mix; submitted to the manager, its demand returned.
  int next_job = 0;
  auto submit_one = [&] {
    const int i = next_job++;
    rc::NewJob n;
    n.name = "j" + std::to_string(i);
    n.priority = static_cast<int64_t>(rng() % 4);
    n.cores = 1 + static_cast<int64_t>(rng() % 8);
    n.gpus = i % 7 == 0 ? 1 + static_cast<int64_t>(rng() % 4) : 0;
    if (i % 997 == 0) n.cores = 128;  // unschedulable
    n.spec = {{"name", n.name}};
    const auto v = manager.submit(n).view;
    return rc::JobDemand{v.job.id, n.priority, v.job.seq, 1, n.cores, n.gpus};
  };
  // Enough that `jobs` are still queued once the cold start has filled the cluster.
  for (int i = 0; i < jobs + workers; ++i) queue.push_back(submit_one());
  std::sort(queue.begin(), queue.end(), rc::queue_before);

  // Cold: everything free.
  auto t0 = Clock::now();
  rc::Decision cold = rc::schedule({cluster}, queue);
  const double cold_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  // Make it the running state: the placed jobs occupy their workers.
  std::map<std::string, const rc::JobDemand*> by_id;
  for (const auto& q : queue) by_id[q.id] = &q;
  for (const auto& p : cold.placements) {
    const rc::JobDemand& j = *by_id[p.job_id];
    manager.start(p);
    for (const auto& w : p.worker_ids) registry.add_task(w, p.job_id, j.cores, j.gpus);
  }
  std::printf("cold start: %d workers x %d queued jobs: %zu placed, %zu unschedulable in %.2f ms\n",
              workers, jobs + workers, cold.placements.size(), cold.unschedulable.size(), cold_ms);

  Stats policy, pass, policy_cpu, pass_cpu;
  size_t placed = 0;
  for (int r = 0; r < rounds; ++r) {
    // Finish the tasks on a few random busy workers.
    auto snap = registry.snapshot();
    for (int k = 0; k < freed; ++k) {
      const auto& w = snap.workers[rng() % snap.workers.size()];
      for (const auto& info : registry.list())
        if (info.id == w.id)
          for (const auto& [job, t] : info.tasks) {
            registry.remove_task(w.id, job);
            manager.finish(job, w.id, nlohmann::json::object(), false);
          }
    }
    // The pure policy on this state.
    const rc::ClusterSnapshot s = registry.snapshot();
    const std::vector<rc::JobDemand> q = manager.queue();
    t0 = Clock::now();
    double c0 = thread_cpu_ms();
    const rc::Decision d = rc::schedule(s, q);
    policy.add(Clock::now() - t0);
    policy_cpu.ms.push_back(thread_cpu_ms() - c0);
    // The whole pass, as the control plane runs it.
    t0 = Clock::now();
    c0 = thread_cpu_ms();
    const rc::ClusterSnapshot s2 = registry.snapshot();
    const std::vector<rc::JobDemand> q2 = manager.queue();
    const rc::Decision d2 = rc::schedule(s2, q2);
    manager.set_unschedulable(d2.unschedulable);
    pass.add(Clock::now() - t0);
    pass_cpu.ms.push_back(thread_cpu_ms() - c0);
    for (const auto& p : d2.placements) {
      const auto v = manager.get(p.job_id);
      manager.start(p);
      for (const auto& w : p.worker_ids) registry.add_task(w, p.job_id, v->job.cores, v->job.gpus);
    }
    placed += d2.placements.size();
    // Keep the queue at its depth: as many new jobs as just started.
    for (size_t k = 0; k < d2.placements.size(); ++k) submit_one();
  }
  std::printf("steady state (%zu decisions, %zu placements, queue ~%zu):\n", policy.ms.size(),
              placed, manager.queue().size());
  std::printf(
      "  policy only : wall p50 %.3f ms  p99 %.3f ms  max %.3f ms | on-CPU p50 %.3f  p99 %.3f ms\n",
      policy.pct(0.5), policy.pct(0.99), policy.pct(1.0), policy_cpu.pct(0.5),
      policy_cpu.pct(0.99));
  std::printf(
      "  whole pass  : wall p50 %.3f ms  p99 %.3f ms  max %.3f ms | on-CPU p50 %.3f  p99 %.3f ms\n",
      pass.pct(0.5), pass.pct(0.99), pass.pct(1.0), pass_cpu.pct(0.5), pass_cpu.pct(0.99));
  return 0;
}
