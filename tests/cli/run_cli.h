// Runs the ringmaster binary as a user's shell would, for the CLI tests:
// stdout and stderr into files in a test folder, stdin closed, the exit code.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/integration/process.h"

namespace ringmaster::testing_support {

struct CliResult {
  int exit_code;  // -1: killed by a signal
  std::string out, err;
};

// `ringmaster ARGS` (ARGS as a shell command line's tail), killed after
// `timeout_s`; out.txt and err.txt in `dir` keep what it wrote.
inline CliResult run_ringmaster(const std::string& args, const std::filesystem::path& dir,
                                int timeout_s = 600) {
  const std::string out = (dir / "out.txt").string(), err = (dir / "err.txt").string();
  const std::string cmd = "timeout " + std::to_string(timeout_s) + " " + RINGMASTER_BIN + " " +
                          args + " >" + out + " 2>" + err + " </dev/null";
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace ringmaster::testing_support
