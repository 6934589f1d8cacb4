// Multi-host data-parallel training without a second machine: the test
// creates two network namespaces joined to a bridge of its own (10.78.0.0/24),
// runs one `ringmaster worker` in each (each its own "host", reaching the
// others only over the bridge), a coordinator whose control plane listens on
// the bridge (encrypted, CURVE: a control plane off loopback needs it), and
// trains a 2-worker job whose ring crosses namespaces. Needs
// root and iproute2; skips, saying so, otherwise. Everything it creates is
// removed at the end, its iptables rule included (see kForwardRule).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../coordinator/raw_http.h"
#include "local_cluster_args.h"
#include "process.h"

namespace ringmaster {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing_support::Process;
using testing_support::RawHttp;

const char* kBridge = "rmbr0";
const char* kNs[2] = {"rmhost1", "rmhost2"};
const char* kIp[2] = {"10.78.0.2", "10.78.0.3"};
const char* kBridgeIp = "10.78.0.1";
// A control plane on a non-loopback address needs a token (for the REST API).
const char* kToken = "multi-host-test-token";
const std::vector<std::pair<std::string, std::string>> kAuth = {
    {"Authorization", std::string("Bearer ") + kToken}};

int sh(const std::string& cmd) { return std::system((cmd + " >/dev/null 2>&1").c_str()); }

// Bridged traffic between the namespaces crosses the host's iptables FORWARD
// chain once br_netfilter is loaded, as it is after dockerd has run (which
// also sets the chain's policy to DROP). The test allows its own bridge's
// traffic with a rule of its own, first in the chain, and deletes it after:
// the host's firewall is left as found. No iptables: no firewall to pass.
const std::string kForwardRule = std::string("FORWARD -i ") + kBridge + " -o " + kBridge +
                                 " -m comment --comment ringmaster-multi-host-test -j ACCEPT";

bool have_iptables() { return sh("iptables -w -S FORWARD") == 0; }

void delete_forward_rules() {
  // Every copy, a crashed earlier run's included; bounded all the same.
  for (int i = 0; i < 8 && sh("iptables -w -D " + kForwardRule) == 0; ++i) {
  }
}

void tear_down_network() {
  if (have_iptables()) delete_forward_rules();
  for (const char* ns : kNs) sh(std::string("ip netns del ") + ns);
  sh(std::string("ip link del ") + kBridge);
  for (int i = 0; i < 2; ++i) sh("ip link del rmveth" + std::to_string(i));
}

class MultiHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";
    if (sh("ip -V") != 0) GTEST_SKIP() << "needs iproute2 (ip)";
    const std::string digits = std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz";
    if (!fs::exists(digits)) GTEST_SKIP() << digits << " missing: run scripts/install-deps.sh";
    tear_down_network();
    const std::vector<std::string> setup = {
        std::string("ip link add ") + kBridge + " type bridge",
        std::string("ip addr add ") + kBridgeIp + "/24 dev " + kBridge,
        std::string("ip link set ") + kBridge + " up",
    };
    for (const auto& c : setup) ASSERT_EQ(sh(c), 0) << c;
    if (have_iptables()) {
      ASSERT_EQ(sh("iptables -w -I " + kForwardRule), 0) << kForwardRule;
    }
    for (int i = 0; i < 2; ++i) {
      const std::string v = "rmveth" + std::to_string(i), p = "rmvpeer" + std::to_string(i);
      const std::vector<std::string> cmds = {
          std::string("ip netns add ") + kNs[i],
          "ip link add " + v + " type veth peer name " + p,
          "ip link set " + p + " netns " + kNs[i],
          "ip link set " + v + " master " + kBridge,
          "ip link set " + v + " up",
          std::string("ip -n ") + kNs[i] + " addr add " + kIp[i] + "/24 dev " + p,
          std::string("ip -n ") + kNs[i] + " link set " + p + " up",
          std::string("ip -n ") + kNs[i] + " link set lo up",
      };
      for (const auto& c : cmds) ASSERT_EQ(sh(c), 0) << c;
    }
    dir_ = fs::temp_directory_path() / ("rm_multihost_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    digits_ = digits;
  }
  void TearDown() override {
    workers_.clear();
    coordinator_.reset();
    tear_down_network();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string path(const std::string& n) const { return (dir_ / n).string(); }

  fs::path dir_;
  std::string digits_;
  std::unique_ptr<Process> coordinator_;
  std::vector<std::unique_ptr<Process>> workers_;
};

TEST_F(MultiHostTest, ATwoWorkerJobTrainsAcrossTwoNetworkNamespaces) {
  const uint16_t http = testing_support::free_port();
  const std::string zmq =
      std::string("tcp://") + kBridgeIp + ":" + std::to_string(testing_support::free_port());
  // A control plane off loopback needs CURVE: keys from `ringmaster keygen`.
  for (const char* name : {"coord", "worker"}) {
    auto [rc, out] = testing_support::run({"keygen", path(name)}, path(std::string(name) + ".log"));
    ASSERT_EQ(rc, 0) << out;
  }
  std::ofstream(path("workers.allow")) << testing_support::slurp(path("worker.pub"));
  coordinator_ = std::make_unique<Process>(
      std::vector<std::string>{"coordinator", "--port", std::to_string(http), "--zmq", zmq,
                               "--state-dir", path("runs/cluster"), "--checkpoint-root",
                               path("runs"), "--data-root", testing_support::source_data_root(),
                               "--token", kToken, "--curve-key", path("coord.key"),
                               "--allow-workers", path("workers.allow")},
      path("coordinator.log"));
  const auto up_until = std::chrono::steady_clock::now() + 20s;
  bool up = false;
  while (!up && std::chrono::steady_clock::now() < up_until) {
    try {
      up = RawHttp(http, 1000).request("GET", "/healthz").status == 200;
    } catch (const std::exception&) {
      if (coordinator_->wait(100ms)) break;  // it exited
    }
  }
  ASSERT_TRUE(up) << coordinator_->output();
  // One worker per namespace: `ip netns exec NS ringmaster worker ...`.
  for (int i = 0; i < 2; ++i) {
    std::vector<std::string> args = {"worker", "--coordinator",  zmq,       "--name", kNs[i],
                                     "--host", kIp[i],           "--cores", "1",      "--gpus",
                                     "none",   "--metrics-port", "0"};
    const std::vector<std::string> roots = testing_support::root_args(dir_);
    args.insert(args.end(), roots.begin(), roots.end());
    args.insert(args.end(),
                {"--curve-key", path("worker.key"), "--coordinator-key", path("coord.pub")});
    args.insert(args.begin(), {"netns", "exec", kNs[i], RINGMASTER_BIN});
    workers_.push_back(std::make_unique<Process>("ip", args, path(std::string(kNs[i]) + ".log")));
  }
  RawHttp api(http);
  const auto until = std::chrono::steady_clock::now() + 30s;
  int alive = 0;
  while (alive < 2 && std::chrono::steady_clock::now() < until) {
    alive = 0;
    const nlohmann::json w = api.request("GET", "/v1/workers", "", kAuth).json();
    for (const auto& x : w["workers"]) alive += x["state"] == "ALIVE";
    if (alive < 2) std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(alive, 2) << workers_[0]->output() << workers_[1]->output();

  const nlohmann::json spec = {
      {"name", "multihost"},
      {"model", {{"name", "mlp"}, {"hidden", {64}}}},
      {"data",
       {{"dataset", "digits"}, {"path", digits_}, {"train_limit", 400}, {"test_limit", 100}}},
      {"train", {{"epochs", 2}, {"batch_size", 20}}},
      {"resources", {{"workers", 2}}},
      {"sync", {{"timeout_s", 20}}}};
  const auto created = api.request("POST", "/v1/jobs", spec.dump(), kAuth);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = created.json()["id"];
  std::string state;
  nlohmann::json job;
  const auto done_until = std::chrono::steady_clock::now() + 90s;
  while (std::chrono::steady_clock::now() < done_until) {
    job = api.request("GET", "/v1/jobs/" + id, "", kAuth).json();
    state = job["state"];
    if (state == "SUCCEEDED" || state == "FAILED" || state == "CANCELLED") break;
    std::this_thread::sleep_for(200ms);
  }
  ASSERT_EQ(state, "SUCCEEDED") << job.dump() << "\n"
                                << workers_[0]->output() << workers_[1]->output();
  EXPECT_EQ(job["result"]["world_size"], 2);
  EXPECT_EQ(job["result"]["sync"]["steps"], 40);
  // The ring really crossed the bridge: each rank listened on its namespace's address.
  const std::string logs = api.request("GET", "/v1/jobs/" + id + "/logs", "", kAuth).body;
  for (const char* ip : kIp)  // rank order is the scheduler's: either namespace may be rank 0
    EXPECT_NE(logs.find(std::string("ring all-reduce on tcp://") + ip), std::string::npos) << logs;
  EXPECT_NE(logs.find("rank 1: data-parallel: rank 1 of 2"), std::string::npos) << logs;
  // The control plane has CURVE, so the ring was encrypted with the job's keys.
  EXPECT_NE(logs.find("ring encrypted (CURVE)"), std::string::npos) << logs;
}

}  // namespace
}  // namespace ringmaster
