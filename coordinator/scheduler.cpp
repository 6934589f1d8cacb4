// The placement policy (see scheduler.h). Two memos keep a 10,000-job queue
// on a 1,000-worker cluster cheap: feasibility per job shape (cores, gpus),
// and the shapes that already failed to fit in this pass (anything at least
// as large fails too, since free resources only shrink within a pass).
#include "coordinator/scheduler.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>
#include <utility>

namespace ringmaster::coordinator {

bool queue_before(const JobDemand& a, const JobDemand& b) {
  if (a.priority != b.priority) return a.priority > b.priority;
  return a.seq < b.seq;
}

namespace {

struct Shape {
  int64_t workers, cores, gpus;
  bool covers(const Shape& o) const {  // *this needs at least what o needs
    return workers >= o.workers && cores >= o.cores && gpus >= o.gpus;
  }
};

int64_t smallest_gang(const JobDemand& j) {
  return j.min_workers > 0 ? std::min(j.min_workers, j.workers) : j.workers;
}

std::string plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

class Feasibility {
 public:
  explicit Feasibility(const ClusterSnapshot& c) : cluster_(c) {
    for (const auto& w : c.workers) {
      max_cores_ = std::max(max_cores_, w.cores);
      max_gpus_ = std::max(max_gpus_, w.gpus);
      if (w.slots > 0) ++with_slots_;
    }
  }

  // Empty when some idle cluster of today's workers could hold the job (an
  // elastic one at its smallest).
  std::string reason(const JobDemand& j) {
    const int64_t n = static_cast<int64_t>(cluster_.workers.size());
    if (n == 0) return "no live workers";
    const int64_t least = smallest_gang(j);
    if (least > with_slots_)
      return "needs a gang of " + plural(least, "worker", "workers") + "; the cluster has " +
             std::to_string(with_slots_);
    if (j.cores > max_cores_)
      return "needs " + plural(j.cores, "core", "cores") + " per worker; the largest worker has " +
             std::to_string(max_cores_);
    if (j.gpus > max_gpus_)
      return "needs " + plural(j.gpus, "GPU", "GPUs") + " per worker; the most any worker has is " +
             std::to_string(max_gpus_);
    const int64_t big_enough = count_fitting(j.cores, j.gpus);
    if (big_enough < least)
      return "needs " + plural(least, "worker", "workers") + " with " +
             plural(j.cores, "core", "cores") + " and " + plural(j.gpus, "GPU", "GPUs") +
             " each; only " + std::to_string(big_enough) + " are that large";
    return {};
  }

 private:
  int64_t count_fitting(int64_t cores, int64_t gpus) {
    const auto key = std::make_pair(cores, gpus);
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
    int64_t n = 0;
    for (const auto& w : cluster_.workers) n += w.slots > 0 && w.cores >= cores && w.gpus >= gpus;
    memo_.emplace(key, n);
    return n;
  }

  const ClusterSnapshot& cluster_;
  int64_t max_cores_ = 0, max_gpus_ = 0, with_slots_ = 0;
  std::map<std::pair<int64_t, int64_t>, int64_t> memo_;
};

}  // namespace

Decision schedule(const ClusterSnapshot& cluster, const std::vector<JobDemand>& queue) {
  Decision d;
  std::vector<size_t> order(queue.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (!std::is_sorted(queue.begin(), queue.end(), queue_before))
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return queue_before(queue[a], queue[b]); });

  std::vector<WorkerCapacity> free = cluster.workers;  // shrinks as we place
  int64_t free_slots = 0;
  for (const auto& w : free) free_slots += std::max<int64_t>(w.free_slots, 0);

  Feasibility feasible(cluster);
  std::vector<Shape> failed;  // shapes that did not fit in this pass
  std::vector<std::pair<std::pair<int64_t, int64_t>, size_t>> candidates;
  candidates.reserve(free.size());

  for (size_t qi : order) {
    const JobDemand& j = queue[qi];
    if (std::string why = feasible.reason(j); !why.empty()) {
      d.unschedulable.push_back({j.id, j.seq, std::move(why)});
      continue;
    }
    const int64_t least = smallest_gang(j);
    const Shape shape{least, j.cores, j.gpus};
    if (free_slots < least) continue;
    bool known_misfit = false;
    for (const Shape& f : failed) known_misfit = known_misfit || shape.covers(f);
    if (known_misfit) continue;

    // Best fit: least leftover GPUs, then least leftover cores.
    candidates.clear();
    for (size_t wi = 0; wi < free.size(); ++wi) {
      const WorkerCapacity& w = free[wi];
      if (w.free_slots > 0 && w.free_cores >= j.cores && w.free_gpus >= j.gpus)
        candidates.push_back({{w.free_gpus - j.gpus, w.free_cores - j.cores}, wi});
    }
    if (static_cast<int64_t>(candidates.size()) < least) {
      failed.push_back(shape);
      continue;
    }
    // The whole gang, or (elastic) as many as there are, at least `least`.
    const int64_t gang = std::min<int64_t>(j.workers, static_cast<int64_t>(candidates.size()));
    const auto gang_end = candidates.begin() + gang;
    std::partial_sort(candidates.begin(), gang_end, candidates.end());
    Placement p{j.id, {}};
    for (auto it = candidates.begin(); it != gang_end; ++it) {
      WorkerCapacity& w = free[it->second];
      w.free_slots -= 1;
      w.free_cores -= j.cores;
      w.free_gpus -= j.gpus;
      p.worker_ids.push_back(w.id);
    }
    free_slots -= gang;
    d.placements.push_back(std::move(p));
  }
  return d;
}

}  // namespace ringmaster::coordinator
