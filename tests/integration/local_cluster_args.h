// Test helper: the command lines the integration tests start a coordinator
// and a worker with, on loopback, with the state under the test's folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ringmaster::testing_support {

// `ringmaster coordinator` on http_port and zmq_port, state in
// dir/runs/cluster, checkpoints under dir/runs; `extra` appended.
inline std::vector<std::string> coordinator_args(uint16_t http_port, uint16_t zmq_port,
                                                 const std::filesystem::path& dir,
                                                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"coordinator",
                                   "--port",
                                   std::to_string(http_port),
                                   "--zmq",
                                   "tcp://127.0.0.1:" + std::to_string(zmq_port),
                                   "--state-dir",
                                   (dir / "runs" / "cluster").string(),
                                   "--checkpoint-root",
                                   (dir / "runs").string()};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// `ringmaster worker` named `name`: one core, no GPU, metrics on a free port.
inline std::vector<std::string> worker_args(uint16_t zmq_port, const std::string& name) {
  return {"worker",
          "--coordinator",
          "tcp://127.0.0.1:" + std::to_string(zmq_port),
          "--name",
          name,
          "--cores",
          "1",
          "--gpus",
          "none",
          "--metrics-port",
          "0"};
}

}  // namespace ringmaster::testing_support
