// An in-process Coordinator on ephemeral loopback ports (REST on 127.0.0.1:0,
// control plane on tcp://127.0.0.1:*) over a fresh state folder, for the REST
// and control-plane tests. Tests talk to it over real sockets only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "coordinator/coordinator.h"
#include "raw_http.h"
#include "test_dir.h"
#include "training/path_roots.h"
#include "training/ps_update.h"

namespace ringmaster::testing_support {

class CoordinatorFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_test_dir("rm_coord");
    options_.http_port = 0;
    options_.zmq_endpoint = "tcp://127.0.0.1:*";
    options_.state_dir = (dir_ / "runs" / "cluster").string();
    options_.checkpoint_root = (dir_ / "runs").string();
    options_.durability = coordinator::Durability::kNormal;
    options_.ps_update = training::make_ps_update_from_json;
    options_.parse_spec = training::parse_job_spec;
    // As the binary does: reads under the source tree's data/ and this
    // test's folder, or the checkpoint root.
    const training::PathRoots roots = training::resolve_roots(
        {{std::string(RINGMASTER_SOURCE_DIR) + "/data", dir_}, {dir_ / "runs"}});
    options_.check_read_paths = [roots](const training::JobSpec& s) {
      return training::read_path_problems(s, roots);
    };
  }
  void TearDown() override {
    coord_.reset();
    std::filesystem::remove_all(dir_);
  }
  void start() {
    coord_ = std::make_unique<coordinator::Coordinator>(options_);
    coord_->start();
  }
  void restart() {
    coord_.reset();
    start();
  }
  uint16_t port() const { return coord_->http_port(); }
  RawResponse get(const std::string& target,
                  const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    RawHttp c(port());
    return c.request("GET", target, "", headers);
  }
  RawResponse post(const std::string& target, const std::string& body,
                   const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    RawHttp c(port());
    return c.request("POST", target, body, headers);
  }
  // A small valid job: digits, a checkpoint under the root.
  nlohmann::json spec(const std::string& name, int epochs = 1) const {
    return {{"name", name},
            {"data",
             {{"dataset", "digits"},
              {"path", std::string(RINGMASTER_SOURCE_DIR) + "/data/digits.csv.gz"},
              {"train_limit", 200}}},
            {"train", {{"epochs", epochs}, {"batch_size", 50}, {"threads", 1}}}};
  }
  // Polls GET /v1/jobs/{id} until `pred` holds (at most `limit`).
  nlohmann::json wait_job(const std::string& id,
                          const std::function<bool(const nlohmann::json&)>& pred,
                          std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    nlohmann::json j;
    while (std::chrono::steady_clock::now() < end) {
      j = get("/v1/jobs/" + id).json();
      if (pred(j)) return j;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "job " << id << " never reached the expected state; last: " << j.dump();
    return j;
  }

  std::filesystem::path dir_;
  coordinator::CoordinatorOptions options_;
  std::unique_ptr<coordinator::Coordinator> coord_;
};

}  // namespace ringmaster::testing_support
