// The test fixture of the cluster tests: real `ringmaster` processes on
// loopback (a coordinator, named workers), the REST API read through raw
// HTTP, and the CLI run bounded.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <thread>

#include "../coordinator/raw_http.h"
#include "local_cluster_args.h"
#include "process.h"
#include "tests/test_dir.h"

namespace ringmaster::testing_support {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

inline std::string digits() { return std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz"; }

// The tensor bytes of a safetensors file (what follows its JSON header, whose
// metadata names the run's spec and so its paths).
inline std::string tensor_bytes(const fs::path& p) {
  const std::string all = slurp(p.string());
  if (all.size() < 8) return "";
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(all[static_cast<size_t>(i)]);
  return n + 8 <= all.size() ? all.substr(8 + n) : "";
}

// RM_TEST_SEED when set (to replay a run), else a fresh random seed.
inline uint64_t test_seed() {
  if (const char* s = std::getenv("RM_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(digits())) GTEST_SKIP() << digits() << " missing: run scripts/install-deps.sh";
    dir_ = testing_support::fresh_test_dir("cluster");
  }
  void TearDown() override {
    workers_.clear();
    coordinator_.reset();
    fs::remove_all(dir_);
  }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // `ringmaster up` with one worker on free ports, its state, checkpoints and
  // data in this test's folder.
  std::vector<std::string> up_args() const {
    return {"up",
            "--workers",
            "1",
            "--port",
            "0",
            "--zmq-port",
            "0",
            "--state-dir",
            path("runs/cluster"),
            "--checkpoint-root",
            path("runs"),
            "--data-root",
            source_data_root(),
            "--data-root",
            dir_.string(),
            "--durability",
            "normal"};
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }

  std::string write_spec(const std::string& name, int epochs, int train_limit,
                         const std::string& data = "") {
    const nlohmann::json j = {{"name", name},
                              {"data",
                               {{"dataset", "digits"},
                                {"path", data.empty() ? digits() : data},
                                {"train_limit", train_limit},
                                {"test_limit", 100}}},
                              {"train", {{"epochs", epochs}, {"batch_size", 25}, {"seed", 2}}}};
    const std::string p = path(name + ".json");
    std::ofstream(p) << j.dump(2);
    return p;
  }

  void start_coordinator(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--heartbeat-timeout", heartbeat_timeout_s_};
    args.insert(args.end(), extra.begin(), extra.end());
    args = testing_support::coordinator_args(http_port_, zmq_port_, dir_, args);
    coordinator_ =
        std::make_unique<Process>(args, path("coordinator-" + std::to_string(++starts_) + ".log"));
    const auto end = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < end) {
      try {
        if (RawHttp(http_port_, 1000).request("GET", "/healthz").status == 200) return;
      } catch (const std::exception&) {
      }
      ASSERT_FALSE(coordinator_->wait(100ms)) << coordinator_->output();
    }
    FAIL() << "coordinator did not come up: " << coordinator_->output();
  }

  void start_worker(const std::string& name, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = testing_support::worker_args(zmq_port_, name, dir_);
    args.insert(args.end(), extra.begin(), extra.end());
    workers_[name] = std::make_unique<Process>(args, path(name + ".log"));
  }

  // `ringmaster keygen` into the test folder (NAME.key, NAME.pub; its output
  // in NAME.keygen.log); returns the public key.
  std::string keygen(const std::string& name) {
    auto [rc, out] = testing_support::run({"keygen", path(name)}, path(name + ".keygen.log"));
    EXPECT_EQ(rc, 0) << out;
    return testing_support::slurp(path(name + ".pub")).substr(0, 40);
  }

  nlohmann::json api(const std::string& target) {
    return RawHttp(http_port_).request("GET", target).json();
  }

  nlohmann::json wait_for(const std::string& what, const std::function<bool()>& pred,
                          std::chrono::milliseconds limit = 30s) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return nullptr;
      std::this_thread::sleep_for(100ms);
    }
    std::string logs;
    for (const auto& [name, w] : workers_) logs += "\n--- " + name + ":\n" + w->output();
    ADD_FAILURE() << "timed out waiting for " << what << "; jobs: " << api("/v1/jobs").dump()
                  << "\n--- coordinator:\n"
                  << coordinator_->output() << logs;
    return nullptr;
  }
  void wait_for_alive_workers(int n) {
    wait_for(std::to_string(n) + " live workers", [&] {
      int alive = 0;
      const nlohmann::json workers = api("/v1/workers");  // a named value: no dangling range
      for (const auto& w : workers["workers"]) alive += w["state"] == "ALIVE";
      return alive == n;
    });
  }
  // Waits until job `id` runs and has reported progress; returns the job.
  nlohmann::json wait_training(const std::string& id) {
    wait_for(id + " training", [&] {
      const nlohmann::json v = api("/v1/jobs/" + id);
      return v["state"] == "RUNNING" && v.contains("progress") && v["progress"].is_object();
    });
    return api("/v1/jobs/" + id);
  }
  std::string state(const std::string& id) { return api("/v1/jobs/" + id)["state"]; }
  void wait_state(const std::string& id, const std::string& s,
                  std::chrono::milliseconds limit = 30s) {
    wait_for(
        id + " " + s, [&] { return state(id) == s; }, limit);
  }

  // `ringmaster ARGS --server URL`, bounded.
  std::pair<int, std::string> cli(std::vector<std::string> args, const std::string& log) {
    args.insert(args.end(), {"--server", url()});
    return testing_support::run(args, path(log), 90s);
  }
  std::string submit(const std::string& spec) {
    auto [rc, out] = cli({"submit", spec, "--parsable"}, "submit.log");
    EXPECT_EQ(rc, 0) << out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  fs::path dir_;
  uint16_t http_port_ = testing_support::free_port();
  uint16_t zmq_port_ = testing_support::free_port();
  int starts_ = 0;
  std::string heartbeat_timeout_s_ = "2";  // the coordinator's --heartbeat-timeout
  std::unique_ptr<Process> coordinator_;
  std::map<std::string, std::unique_ptr<Process>> workers_;
};

}  // namespace ringmaster::testing_support
