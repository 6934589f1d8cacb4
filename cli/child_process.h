// A child process of this binary for `ringmaster up`: started with fork+exec
// of /proc/self/exe, stdout and stderr appended to a log file, in its own
// process group (so the terminal's Ctrl-C reaches only `up`, which stops the
// children in order) and with SIGTERM as its parent-death signal (so killing
// `up` outright does not leave orphans). Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace ringmaster::cli {

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // kills (SIGKILL) and reaps a child still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs this binary with `args` (not including argv[0]). Throws std::runtime_error.
  void start(const std::vector<std::string>& args, const std::string& log_path);
  // False once it has exited (reaps it; exit_status() then says how).
  bool running();
  void signal(int sig);
  // Waits up to `timeout` for it to exit. True when it has.
  bool wait(std::chrono::milliseconds timeout);
  int exit_status() const { return status_; }  // exit code, or 128 + signal
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool reaped_ = true;
  int status_ = 0;
};

}  // namespace ringmaster::cli
