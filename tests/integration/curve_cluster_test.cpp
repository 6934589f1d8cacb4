// The control plane with CURVE, as real processes on loopback: keys from
// `ringmaster keygen`, a coordinator that allows one worker's key. That
// worker registers and runs a job; a worker with an unknown key and one
// without CURVE never register, and the refusals are counted in /metrics; a
// worker with an allowed key cannot take over a live worker's id; a key
// added to the allowlist file lets its worker in without a restart; two-worker
// jobs run with their ring and parameter-server shards encrypted by per-job
// keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>

#include "cluster_fixture.h"

namespace ringmaster {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing_support::ClusterTest;

class CurveClusterTest : public ClusterTest {
 protected:
  // `ringmaster keygen` into the test folder; returns the public key.
  // The fixture's keygen, and the key was printed too.
  std::string keygen(const std::string& name) {
    const std::string pub = ClusterTest::keygen(name);
    const std::string out = testing_support::slurp(path(name + ".keygen.log"));
    EXPECT_NE(out.find(pub), std::string::npos) << out;
    return pub;
  }
  std::vector<std::string> worker_keys(const std::string& name) {
    return {"--curve-key", path(name + ".key"), "--coordinator-key", path("coord.pub")};
  }
  std::vector<std::string> workers() {
    std::vector<std::string> names;
    const nlohmann::json w = api("/v1/workers");
    for (const auto& x : w["workers"]) names.push_back(x["id"]);
    return names;
  }
  double metric(const std::string& name) {
    const std::string text = testing_support::RawHttp(http_port_).request("GET", "/metrics").body;
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("\n" + name + " ([0-9.e+]+)"))) return -1;
    return std::stod(m[1]);
  }
};

TEST_F(CurveClusterTest, OnlyAllowedKeysRegisterAndIdsStayWithTheirKeys) {
  keygen("coord");
  const std::string w1 = keygen("w1");
  const std::string w2 = keygen("w2");
  std::ofstream(path("workers.allow")) << w1 << "  # w1\n";
  start_coordinator({"--curve-key", path("coord.key"), "--allow-workers", path("workers.allow")});
  start_worker("w1", worker_keys("w1"));
  start_worker("stranger", worker_keys("w2"));  // a key not in the allowlist
  start_worker("plain");                        // no CURVE at all
  wait_for_alive_workers(1);
  wait_for("a refused handshake counted",
           [&] { return metric("ringmaster_control_auth_refused_total") >= 1; });
  std::this_thread::sleep_for(1s);  // the strangers had time to try again
  EXPECT_EQ(workers(), std::vector<std::string>{"w1"});
  EXPECT_GE(metric("ringmaster_control_auth_accepted_total"), 1);

  // The allowed worker trains.
  const std::string id = submit(write_spec("over-curve", 1, 100));
  wait_state(id, "SUCCEEDED", 60s);

  // w2 allowed now (the file is re-read): the stranger gets in, under its own id.
  std::ofstream(path("workers.allow.new")) << w1 << "\n" << w2 << "\n";
  fs::rename(path("workers.allow.new"), path("workers.allow"));
  wait_for_alive_workers(2);
  auto names = workers();
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"stranger", "w1"}));

  // Two-worker jobs: the ring, and the coordinator's parameter-server shards,
  // both encrypted with the job's keys.
  for (const std::string mode : {"allreduce", "ps"}) {
    nlohmann::json dp =
        nlohmann::json::parse(testing_support::slurp(write_spec("dp-" + mode, 1, 200)));
    dp["resources"] = {{"workers", 2}};
    dp["sync"] = {{"mode", mode}, {"timeout_s", 20}};
    std::ofstream(path("dp-" + mode + ".json")) << dp.dump(2);
    const std::string dp_id = submit(path("dp-" + mode + ".json"));
    wait_state(dp_id, "SUCCEEDED", 90s);
    const std::string logs =
        testing_support::RawHttp(http_port_).request("GET", "/v1/jobs/" + dp_id + "/logs").body;
    if (mode == "allreduce") {
      EXPECT_NE(logs.find("ring encrypted (CURVE)"), std::string::npos) << logs;
    }
  }

  // An allowed key claiming a live worker's id does not take it over.
  workers_["impostor"] = std::make_unique<testing_support::Process>(
      [&] {
        std::vector<std::string> a = testing_support::worker_args(zmq_port_, "w1", dir_);
        const auto k = worker_keys("w2");
        a.insert(a.end(), k.begin(), k.end());
        return a;
      }(),
      path("impostor.log"));
  std::this_thread::sleep_for(2s);
  const std::string second = submit(write_spec("still-w1", 1, 100));
  wait_state(second, "SUCCEEDED", 60s);
  const nlohmann::json w = api("/v1/workers");
  for (const auto& x : w["workers"]) EXPECT_EQ(x["state"], "ALIVE") << w.dump();
  EXPECT_EQ(workers_["impostor"]->output().find("registered"), std::string::npos)
      << workers_["impostor"]->output();
}

}  // namespace
}  // namespace ringmaster
