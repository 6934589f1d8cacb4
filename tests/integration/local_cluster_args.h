// Test helper: the command lines the integration tests start a coordinator
// and a worker with, on loopback, with the state under the test's folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ringmaster::testing_support {

// The source tree's data folder (digits.csv.gz), a data root of the tests'
// coordinators and workers beside the default ones.
inline std::string source_data_root() { return std::string(RINGMASTER_SOURCE_DIR) + "/data"; }

// The roots the tests' coordinators and workers share: checkpoints under
// dir/runs, data under the source tree's data/ and dir.
inline std::vector<std::string> root_args(const std::filesystem::path& dir) {
  return {"--checkpoint-root", (dir / "runs").string(), "--data-root",
          source_data_root(),  "--data-root",           dir.string()};
}

// `ringmaster coordinator` on http_port and zmq_port, state in
// dir/runs/cluster, checkpoints under dir/runs, data under the source tree's
// data/ and dir; `extra` appended.
inline std::vector<std::string> coordinator_args(uint16_t http_port, uint16_t zmq_port,
                                                 const std::filesystem::path& dir,
                                                 const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"coordinator",
                                   "--port",
                                   std::to_string(http_port),
                                   "--zmq",
                                   "tcp://127.0.0.1:" + std::to_string(zmq_port),
                                   "--state-dir",
                                   (dir / "runs" / "cluster").string()};
  const std::vector<std::string> roots = root_args(dir);
  args.insert(args.end(), roots.begin(), roots.end());
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// `ringmaster worker` named `name`: one core, no GPU, metrics on a free port,
// the roots of coordinator_args(..., dir).
inline std::vector<std::string> worker_args(uint16_t zmq_port, const std::string& name,
                                            const std::filesystem::path& dir) {
  std::vector<std::string> args = {"worker",
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
  const std::vector<std::string> roots = root_args(dir);
  args.insert(args.end(), roots.begin(), roots.end());
  return args;
}

}  // namespace ringmaster::testing_support
