// The chaos test of issue 18: a coordinator and three real workers on
// loopback run a queue of eleven short jobs (single-worker ones with periodic
// checkpoints, 2-worker all-reduce and 2-worker parameter-server ones) while
// a nemesis SIGKILLs busy workers and starts them again, SIGKILLs the
// coordinator once and starts it again, and SIGSTOPs one worker past the
// heartbeat timeout before resuming it. Afterwards every job has gone to
// SUCCEEDED exactly once (the coordinators' logs), none is lost or added,
// every restart names a fault that was injected, and the single-worker jobs
// end with the bytes of the same jobs run undisturbed. It prints the
// history. RM_TEST_SEED replays a run's schedule of faults (their timing
// against the jobs still varies).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "../integration/cluster_fixture.h"

namespace ringmaster {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing_support::digits;
using testing_support::Process;
using testing_support::tensor_bytes;

enum class JobKind { kSingle, kAllreduce, kPs };

struct ChaosJob {
  std::string name;
  JobKind kind;
  std::string id;
};

struct Fault {
  std::string what;    // "SIGKILL", "SIGSTOP", "SIGKILL coordinator"
  std::string target;  // a worker's name, or "coordinator"
  double at_s = 0;     // since the first submission
};

class ChaosTest : public testing_support::ClusterTest {
 protected:
  static constexpr int kStopSeconds = 4;  // past the fixture's heartbeat timeout of 2 s
  const std::vector<std::string> worker_names_ = {"w1", "w2", "w3"};
  const std::vector<std::string> coordinator_flags_ = {"--max-restarts", "10", "--restart-backoff",
                                                       "0.5"};

  // Starts (or starts again) a worker; each life logs to its own file.
  void boot(const std::string& name) {
    const int life = ++lives_[name];
    workers_[name] = std::make_unique<Process>(testing_support::worker_args(zmq_port_, name, dir_),
                                               path(name + "-" + std::to_string(life) + ".log"));
  }
  // What every life of the coordinator printed.
  std::string coordinator_logs() const {
    std::string all;
    for (int life = 1; life <= starts_; ++life)
      all += testing_support::slurp(path("coordinator-" + std::to_string(life) + ".log"));
    return all;
  }

  std::string submit_spec(const ChaosJob& j, int seed) {
    nlohmann::json s;
    if (j.kind == JobKind::kSingle) {
      s = {{"model", {{"name", "deep_convnet"}, {"dropout", 0.3}}},
           {"data",
            {{"dataset", "digits"},
             {"path", digits()},
             {"test_limit", 100},
             {"augment",
              {{{"type", "translate"}, {"pixels", 1}}, {{"type", "cutout"}, {"size", 2}}}}}},
           {"train", {{"epochs", 20}, {"batch_size", 32}, {"seed", seed}}},
           {"checkpoint", {{"every_steps", 5}}}};
    } else {
      s = {{"model", {{"name", "mlp"}, {"hidden", {256, 256}}}},
           {"data", {{"dataset", "digits"}, {"path", digits()}, {"test_limit", 100}}},
           {"train",
            {{"epochs", j.kind == JobKind::kPs ? 12 : 40}, {"batch_size", 20}, {"seed", seed}}},
           {"resources", {{"workers", 2}}},
           {"sync", {{"bucket_mb", 0.01}, {"timeout_s", 5}}},
           {"checkpoint", {{"every_steps", 10}}}};
      if (j.kind == JobKind::kPs) {
        s["sync"] = {{"mode", "ps"}, {"shards", 2}, {"timeout_s", 5}};
        s["checkpoint"].erase("every_steps");  // the shards hold the optimizer state
      }
    }
    s["name"] = j.name;
    s["checkpoint"]["path"] = j.name + "/final.safetensors";
    s["restart_policy"] = {{"max_restarts", 10}, {"backoff_s", 0.5}};
    const std::string p = path(j.name + ".json");
    std::ofstream(p) << s.dump(2);
    return submit(p);
  }

  // The jobs' views, by id; empty while the coordinator is down.
  std::map<std::string, nlohmann::json> views() {
    std::map<std::string, nlohmann::json> out;
    try {
      const nlohmann::json all = api("/v1/jobs");
      for (const auto& j : all["jobs"]) out[j["id"].get<std::string>()] = j;
    } catch (const std::exception&) {
    }
    return out;
  }
  bool all_ended(const std::vector<ChaosJob>& jobs) {
    const auto v = views();
    if (v.empty()) return false;
    for (const auto& j : jobs) {
      const auto it = v.find(j.id);
      if (it == v.end()) return false;
      const std::string s = it->second["state"];
      if (s != "SUCCEEDED" && s != "FAILED" && s != "CANCELLED") return false;
    }
    return true;
  }

  // A worker running a task, when the coordinator says so; else any worker.
  std::string pick_victim(std::mt19937_64& rng) {
    std::vector<std::string> busy;
    try {
      const nlohmann::json ws = api("/v1/workers");
      for (const auto& w : ws["workers"])
        if (w["state"] == "ALIVE" && !w["tasks"].empty()) busy.push_back(w["id"]);
    } catch (const std::exception&) {
    }
    const auto& from = busy.empty() ? worker_names_ : busy;
    return from[rng() % from.size()];
  }

  double since(std::chrono::steady_clock::time_point t0) const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  static std::chrono::milliseconds uniform_ms(std::mt19937_64& rng, int lo, int hi) {
    return std::chrono::milliseconds(lo + static_cast<int>(rng() % (hi - lo + 1)));
  }

  std::map<std::string, int> lives_;
};

// From a job's submission to its end.
double seconds(const nlohmann::json& view) {
  auto unix_seconds = [](const std::string& iso) {  // "2026-12-06T08:26:32.871Z"
    std::tm t{};
    strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &t);
    return static_cast<double>(timegm(&t)) + std::stod(iso.substr(19, 4));
  };
  if (!view.contains("finished_at") || !view["finished_at"].is_string()) return 0;
  return unix_seconds(view["finished_at"]) - unix_seconds(view["submitted_at"]);
}

// What a restart's reason points at: a worker the nemesis hit, the
// coordinator's restart, or (in a data-parallel job) a rank that lost its
// peer or its shards.
bool explained(const std::string& reason, const std::set<std::string>& hit, bool coordinator_killed,
               bool data_parallel) {
  for (const auto& w : hit)
    if (reason.find("worker " + w + " ") != std::string::npos) return true;
  if (coordinator_killed && reason.find("coordinator's restart") != std::string::npos) return true;
  return data_parallel && reason.find(": data-parallel rank ") != std::string::npos;
}

// The coordinator's lines saying `id` went to SUCCEEDED.
int successes(const std::string& coordinator_logs, const std::string& id) {
  std::istringstream in(coordinator_logs);
  int n = 0;
  for (std::string line; std::getline(in, line);)
    n += line.rfind("coordinator: " + id + " SUCCEEDED (attempt ", 0) == 0;
  return n;
}

TEST_F(ChaosTest, EveryJobSucceedsOnceWhileWorkersAndTheCoordinatorAreKilled) {
  const uint64_t seed = testing_support::test_seed();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("RM_TEST_SEED=" + std::to_string(seed));
  std::printf("chaos: RM_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
  start_coordinator(coordinator_flags_);
  for (const auto& w : worker_names_) boot(w);
  wait_for_alive_workers(3);

  std::vector<ChaosJob> jobs;
  // A parameter-server job and a single-worker one take the three workers
  // first, then an all-reduce job: the faults meet every kind.
  for (int i = 1; i <= 3; ++i) {
    jobs.push_back({"ps-" + std::to_string(i), JobKind::kPs, ""});
    jobs.push_back({"single-" + std::to_string(i), JobKind::kSingle, ""});
    jobs.push_back({"allreduce-" + std::to_string(i), JobKind::kAllreduce, ""});
  }
  jobs.push_back({"single-4", JobKind::kSingle, ""});
  jobs.push_back({"single-5", JobKind::kSingle, ""});
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < jobs.size(); ++i) jobs[i].id = submit_spec(jobs[i], 10 + int(i));

  // The nemesis: four worker kills, one stop, one coordinator kill, in a
  // seeded order, 1.5-4 s apart, while jobs are left to run.
  std::vector<std::string> plan = {"SIGKILL", "SIGKILL", "SIGKILL",
                                   "SIGKILL", "SIGSTOP", "SIGKILL coordinator"};
  std::shuffle(plan.begin(), plan.end(), rng);
  std::vector<Fault> history;
  std::set<std::string> hit;
  bool coordinator_killed = false;
  for (const std::string& what : plan) {
    std::this_thread::sleep_for(uniform_ms(rng, 1500, 4000));
    if (all_ended(jobs)) break;
    Fault f{what, "coordinator", since(t0)};
    if (what == "SIGKILL coordinator") {
      coordinator_->signal(SIGKILL);
      ASSERT_TRUE(coordinator_->wait(10s));
      coordinator_killed = true;
      std::this_thread::sleep_for(uniform_ms(rng, 200, 1000));
      start_coordinator(coordinator_flags_);
    } else {
      f.target = pick_victim(rng);
      hit.insert(f.target);
      if (what == "SIGSTOP") {
        workers_[f.target]->signal(SIGSTOP);
        std::this_thread::sleep_for(std::chrono::seconds(kStopSeconds));
        workers_[f.target]->signal(SIGCONT);
      } else {
        workers_[f.target]->signal(SIGKILL);
        ASSERT_TRUE(workers_[f.target]->wait(10s));
        std::this_thread::sleep_for(uniform_ms(rng, 300, 2000));
        boot(f.target);
      }
    }
    history.push_back(f);
  }
  wait_for(
      "every job to end", [&] { return all_ended(jobs); }, 300s);

  // The history.
  std::printf("chaos: %zu faults injected in %.1f s\n", history.size(), since(t0));
  for (const auto& f : history)
    std::printf("  %6.1f s  %s %s\n", f.at_s, f.what.c_str(),
                f.target == "coordinator" ? "" : f.target.c_str());
  const auto end = views();
  int64_t restarts = 0, redone = 0;
  for (const auto& j : jobs) {
    const nlohmann::json& v = end.at(j.id);
    restarts += v["restarts"].get<int64_t>();
    redone += v["steps_redone"].get<int64_t>();
    std::printf("  %-8s %-12s %-9s %5.1f s, restarts %lld, steps redone %lld\n", j.id.c_str(),
                j.name.c_str(), v["state"].get<std::string>().c_str(), seconds(v),
                static_cast<long long>(v["restarts"].get<int64_t>()),
                static_cast<long long>(v["steps_redone"].get<int64_t>()));
    for (const auto& r : v["restart_reasons"])
      std::printf("             restart: %s\n", r.get<std::string>().c_str());
  }
  std::printf("chaos: %lld restarts, %lld steps redone\n", static_cast<long long>(restarts),
              static_cast<long long>(redone));
  EXPECT_EQ(history.size(), plan.size()) << "the jobs ended before every fault was injected";

  // Every job once, none lost or added; each SUCCEEDED, each restart explained.
  EXPECT_EQ(end.size(), jobs.size());
  const std::string logs = coordinator_logs();
  for (const auto& j : jobs) {
    const nlohmann::json& v = end.at(j.id);
    EXPECT_EQ(v["state"], "SUCCEEDED") << v.dump();
    EXPECT_EQ(v["restarts"].get<size_t>(), v["restart_reasons"].size()) << v.dump();
    for (const auto& r : v["restart_reasons"])
      EXPECT_TRUE(explained(r, hit, coordinator_killed, j.kind != JobKind::kSingle))
          << j.id << ": unexplained restart: " << r;
    EXPECT_EQ(successes(logs, j.id), 1) << j.id << " did not succeed exactly once:\n" << logs;
  }

  // The single-worker jobs again, undisturbed: the same final bytes.
  std::vector<std::pair<std::string, std::string>> calm;  // name, id
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (jobs[i].kind != JobKind::kSingle) continue;
    ChaosJob c{jobs[i].name + "-calm", JobKind::kSingle, ""};
    calm.emplace_back(jobs[i].name, submit_spec(c, 10 + int(i)));
  }
  for (const auto& [name, id] : calm) wait_state(id, "SUCCEEDED", 180s);
  for (const auto& [name, id] : calm) {
    const fs::path runs = dir_ / "runs";
    const std::string weights = tensor_bytes(runs / (name + "-calm") / "final.safetensors");
    ASSERT_FALSE(weights.empty()) << name;
    EXPECT_TRUE(tensor_bytes(runs / name / "final.safetensors") == weights)
        << name << ": its final weights differ from the undisturbed run's";
    EXPECT_TRUE(tensor_bytes(runs / name / "final.optimizer.safetensors") ==
                tensor_bytes(runs / (name + "-calm") / "final.optimizer.safetensors"))
        << name << ": its optimizer state differs from the undisturbed run's";
  }
}

}  // namespace
}  // namespace ringmaster
