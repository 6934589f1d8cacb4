// Automatic restart, as a user meets it: a coordinator and two real workers;
// the worker running a job with periodic checkpoints is SIGKILLed at a
// random step; the coordinator queues the job again (restarts 1, the reason
// kept), the other worker resumes it from its newest checkpoint, and it ends
// SUCCEEDED with the same weights and optimizer state as the same job run
// undisturbed on the same cluster.
#include <gtest/gtest.h>

#include <random>

#include "cluster_fixture.h"

namespace ringmaster {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing_support::ClusterTest;
using testing_support::digits;
using testing_support::tensor_bytes;
using testing_support::test_seed;

class RestartTest : public ClusterTest {
 protected:
  // DeepConvNet with dropout on augmented digits, a checkpoint every 5 steps.
  std::string spec(const std::string& name, const nlohmann::json& restart_policy, int epochs = 8) {
    nlohmann::json j = {
        {"name", name},
        {"model", {{"name", "deep_convnet"}, {"dropout", 0.3}}},
        {"data",
         {{"dataset", "digits"},
          {"path", digits()},
          {"augment",
           {{{"type", "translate"}, {"pixels", 1}}, {{"type", "cutout"}, {"size", 2}}}}}},
        {"train", {{"epochs", epochs}, {"batch_size", 32}, {"seed", 5}}},
        {"checkpoint", {{"path", name + "/final.safetensors"}, {"every_steps", 5}}},
        {"restart_policy", restart_policy}};
    const std::string p = path(name + ".json");
    std::ofstream(p) << j.dump(2);
    return p;
  }
  fs::path run_dir(const std::string& name) const { return dir_ / "runs" / name; }

  // Waits until a checkpoint of at least `step` exists under the job's folder.
  void wait_checkpoint(const std::string& name, int64_t step) {
    wait_for(
        name + " checkpoint " + std::to_string(step),
        [&] {
          std::error_code ec;
          for (const auto& e : fs::directory_iterator(run_dir(name) / "checkpoints", ec)) {
            const std::string f = e.path().filename().string();
            if (f.rfind("step-", 0) == 0 && std::stoll(f.substr(5)) >= step) return true;
          }
          return false;
        },
        120s);
  }
};

TEST_F(RestartTest, AJobWhoseWorkerDiesResumesElsewhereWithTheUndisturbedWeights) {
  const uint64_t seed = test_seed();
  std::mt19937_64 rng(seed);
  const int64_t kill_after = 10 + static_cast<int64_t>(rng() % 200);  // of 328 steps
  SCOPED_TRACE("RM_TEST_SEED=" + std::to_string(seed) + ": killed after step " +
               std::to_string(kill_after));
  start_coordinator();
  start_worker("w1");
  start_worker("w2");
  wait_for_alive_workers(2);

  const std::string id = submit(spec("hit", {{"max_restarts", 2}, {"backoff_s", 0.5}}));
  wait_state(id, "RUNNING");
  wait_checkpoint("hit", kill_after);
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40000));
  const std::string victim = api("/v1/jobs/" + id)["placement"][0];
  workers_[victim]->signal(SIGKILL);
  wait_state(id, "SUCCEEDED", 180s);
  const nlohmann::json job = api("/v1/jobs/" + id);
  // One death; a gang placed on a worker not yet known dead would add an
  // uncounted restart ("could not be reached"), so count the death's reason.
  int deaths = 0;
  for (const auto& r : job["restart_reasons"])
    deaths += r.get<std::string>().find(": worker " + victim + " ") != std::string::npos;
  EXPECT_EQ(deaths, 1) << job.dump();
  EXPECT_GE(job["restarts"], 1) << job.dump();
  EXPECT_NE(job["placement"][0], victim) << job.dump();
  // Redone: from the checkpoint it resumed at to the last step it reported,
  // at most a few checkpoint periods and reports apart.
  EXPECT_GE(job["steps_redone"].get<int64_t>(), 0) << job.dump();
  EXPECT_LE(job["steps_redone"].get<int64_t>(), 100) << job.dump();
  auto [rc, logs] = cli({"logs", id}, "logs.log");
  EXPECT_NE(logs.find("resume: from " + (run_dir("hit") / "checkpoints").string() + "/step-"),
            std::string::npos)
      << logs;

  // The same job undisturbed, on the worker that is left.
  const std::string calm = submit(spec("calm", {{"max_restarts", 0}}));
  wait_state(calm, "SUCCEEDED", 180s);
  const std::string weights = tensor_bytes(run_dir("calm") / "final.safetensors");
  ASSERT_FALSE(weights.empty());
  EXPECT_TRUE(tensor_bytes(run_dir("hit") / "final.safetensors") == weights)
      << "the resumed job's final weights differ from the undisturbed job's";
  EXPECT_TRUE(tensor_bytes(run_dir("hit") / "final.optimizer.safetensors") ==
              tensor_bytes(run_dir("calm") / "final.optimizer.safetensors"));

  // Past max_restarts it fails, listing every reason. Each worker is killed
  // once it has the assignment in hand ("running job-N" in its log): killed
  // between the job's RUNNING and the assignment's send, a worker makes the
  // gang be queued again uncounted ("could not be reached"), and with no
  // worker left the job would wait for one. Long enough (200 epochs) that
  // no attempt can finish before its kill.
  start_worker("w3");
  const std::string doomed = submit(spec("doomed", {{"max_restarts", 1}, {"backoff_s", 0}}, 200));
  for (int kill = 0; kill < 2; ++kill) {
    std::string w;
    bool assigned = false;
    wait_for(
        "doomed running on a worker that has its assignment",
        [&] {
          const nlohmann::json v = api("/v1/jobs/" + doomed);
          if (v["state"] != "RUNNING" || v["placement"].empty()) return false;
          w = v["placement"][0];
          assigned = workers_[w]->output().find("running " + doomed) != std::string::npos;
          return assigned;
        },
        60s);
    ASSERT_TRUE(assigned);
    workers_[w]->signal(SIGKILL);
    wait_for(
        "doomed off " + w,
        [&] {
          const nlohmann::json v = api("/v1/jobs/" + doomed);
          return v["state"] != "RUNNING" || v["placement"][0] != w;
        },
        30s);
  }
  wait_state(doomed, "FAILED", 30s);
  const nlohmann::json failed = api("/v1/jobs/" + doomed);
  const std::string reason = failed.value("reason", "");
  // (A gang assigned to a worker not yet known dead is queued again too,
  // uncounted: restarts may be more than one, the deaths are one.)
  EXPECT_NE(reason.find("(restart_policy.max_restarts 1 reached; restart 1: "), std::string::npos)
      << reason;
  EXPECT_NE(reason.find(": worker "), std::string::npos) << reason;
  EXPECT_GE(failed["restarts"], 1) << failed.dump();
}

}  // namespace
}  // namespace ringmaster
