// A child process of `ringmaster up` that is started again whenever it exits
// while the cluster runs, as docker-compose's `restart: unless-stopped` does
// for the same topology: the coordinator keeps its jobs in SQLite and the
// workers register again, so the jobs carry on (a running one restarts from
// its checkpoint). The restart waits 1 s, doubling for each exit within 30 s
// of the last start, at most 30 s, so a child that cannot start does not
// spin. Not thread-safe: one thread starts, polls and stops it.
#pragma once

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "cli/child_process.h"

namespace ringmaster::cli {

class SupervisedChild {
 public:
  using Clock = std::chrono::steady_clock;
  // `name` is what messages call it ("worker-1"); its output is appended to `log_path`.
  SupervisedChild(std::string name, std::vector<std::string> args, std::string log_path);

  // The first start. Throws std::runtime_error.
  void start();
  // The arguments of later starts (the coordinator's, with the ports it took).
  void set_args(std::vector<std::string> args) { args_ = std::move(args); }
  // Notices an exit (one line on `say`) and starts it again once the wait
  // is over; returns at once either way.
  void poll(std::FILE* say);

  // Between an exit that poll() noticed and the start again.
  bool waiting_to_restart() const { return restart_at_.has_value(); }
  ChildProcess& process() { return process_; }
  const std::string& name() const { return name_; }
  const std::string& log_path() const { return log_path_; }

 private:
  std::string name_;
  std::vector<std::string> args_;
  std::string log_path_;
  ChildProcess process_;
  Clock::time_point started_at_{};
  std::optional<Clock::time_point> restart_at_;  // set while it waits to start again
  int quick_exits_ = 0;                          // exits in a row within kQuickExit of their start
  int restarts_ = 0;                             // for the messages
};

}  // namespace ringmaster::cli
