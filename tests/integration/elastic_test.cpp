// Elastic data-parallel training (issue 18, part 4), with real processes: a
// 2-worker job with resources.min_workers 1 loses a worker (SIGKILL), goes on
// at one worker from its newest checkpoint, and grows back to two at a
// checkpoint once the worker is back; it ends SUCCEEDED at world size 2.
#include <gtest/gtest.h>

#include "cluster_fixture.h"

namespace ringmaster {
namespace {

using namespace std::chrono_literals;
using testing_support::ClusterTest;
using testing_support::digits;

class ElasticTest : public ClusterTest {
 protected:
  nlohmann::json job(const std::string& id) { return api("/v1/jobs/" + id); }
  // Waits until the job runs on `size` workers as attempt >= `attempt`.
  nlohmann::json wait_running_on(const std::string& id, size_t size, int64_t attempt) {
    nlohmann::json seen;
    wait_for(
        id + " running on " + std::to_string(size) + " worker(s)",
        [&] {
          seen = job(id);
          return seen["state"] == "RUNNING" && seen["placement"].size() == size &&
                 seen["restarts"].get<int64_t>() >= attempt;
        },
        120s);
    return seen;
  }
};

TEST_F(ElasticTest, ATwoWorkerJobShrinksToOneWhenAWorkerDiesAndGrowsBackWhenItReturns) {
  start_coordinator();
  start_worker("w1");
  start_worker("w2");
  wait_for_alive_workers(2);
  const nlohmann::json spec = {
      {"name", "stretchy"},
      {"model", {{"name", "deep_convnet"}}},
      {"data", {{"dataset", "digits"}, {"path", digits()}, {"test_limit", 200}}},
      {"train", {{"epochs", 20}, {"batch_size", 32}, {"seed", 3}}},
      {"resources", {{"workers", 2}, {"min_workers", 1}}},
      {"sync", {{"timeout_s", 5}}},
      {"checkpoint", {{"every_steps", 5}}},
      {"restart_policy", {{"max_restarts", 2}, {"backoff_s", 0.5}}}};
  std::ofstream(path("stretchy.json")) << spec.dump(2);
  const std::string id = submit(path("stretchy.json"));
  nlohmann::json v = wait_running_on(id, 2, 0);
  wait_for(
      "a few steps",
      [&] {
        const nlohmann::json p = job(id)["progress"];
        return p.is_object() && p.value("steps_total", 0) >= 20;
      },
      60s);

  // One worker dies: the job goes on at one, from its newest checkpoint.
  const std::string victim = v["placement"][1];
  workers_[victim]->signal(SIGKILL);
  ASSERT_TRUE(workers_[victim]->wait(10s));
  v = wait_running_on(id, 1, 1);
  EXPECT_NE(v["placement"][0], victim) << v.dump();
  ASSERT_GE(v["restart_reasons"].size(), 1u) << v.dump();
  // The coordinator's word (the worker's silence) or the survivor's (its
  // peer gone), whichever came first.
  const std::string why = v["restart_reasons"][0];
  EXPECT_TRUE(why.find("worker " + victim + " ") != std::string::npos ||
              why.find(": data-parallel rank 0: ") != std::string::npos)
      << v.dump();

  // It comes back: at the next checkpoint the job grows to two again.
  start_worker(victim);
  v = wait_running_on(id, 2, 2);
  EXPECT_NE(v["restart_reasons"].back().get<std::string>().find(
                "growing back from 1 to 2 workers at its checkpoint of step "),
            std::string::npos)
      << v.dump();
  wait_state(id, "SUCCEEDED", 180s);
  v = job(id);
  EXPECT_EQ(v["result"]["world_size"], 2) << v.dump();
  EXPECT_EQ(v["result"]["epochs"], 20) << v.dump();
  auto [rc, logs] = cli({"logs", id}, "logs.log");
  EXPECT_NE(logs.find("data-parallel: rank 0 of 2"), std::string::npos) << logs;
  EXPECT_NE(logs.find("resume: from "), std::string::npos) << logs;
}

}  // namespace
}  // namespace ringmaster
