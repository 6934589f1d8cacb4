// Restarts with backoff for `ringmaster up`'s children (see supervised_child.h).
#include "cli/supervised_child.h"

#include <signal.h>
#include <string.h>

#include <algorithm>
#include <exception>

namespace ringmaster::cli {
namespace {

constexpr auto kQuickExit = std::chrono::seconds(30);  // ran shorter: the next wait doubles
constexpr int kMaxWaitSeconds = 30;

std::string how_it_ended(int status) {
  if (status > 128) {
    const char* abbrev = sigabbrev_np(status - 128);  // "KILL"
    return std::string("killed by ") + (abbrev ? std::string("SIG") + abbrev + ", " : "") +
           "signal " + std::to_string(status - 128);
  }
  return "exit status " + std::to_string(status);
}

}  // namespace

SupervisedChild::SupervisedChild(std::string name, std::vector<std::string> args,
                                 std::string log_path)
    : name_(std::move(name)), args_(std::move(args)), log_path_(std::move(log_path)) {}

void SupervisedChild::start() {
  process_.start(args_, log_path_);
  started_at_ = Clock::now();
  restart_at_.reset();
}

void SupervisedChild::poll(std::FILE* say) {
  const auto now = Clock::now();
  if (!restart_at_) {
    if (process_.running()) return;
    quick_exits_ = now - started_at_ < kQuickExit ? quick_exits_ + 1 : 1;
    const int wait_s = std::min(kMaxWaitSeconds, 1 << std::min(quick_exits_ - 1, 5));
    restart_at_ = now + std::chrono::seconds(wait_s);
    std::fprintf(say, "ringmaster up: %s exited (%s); starting it again in %d s (see %s)\n",
                 name_.c_str(), how_it_ended(process_.exit_status()).c_str(), wait_s,
                 log_path_.c_str());
    std::fflush(say);
    return;
  }
  if (now < *restart_at_) return;
  try {
    start();
    ++restarts_;
    std::fprintf(say, "ringmaster up: %s started again (restart %d)\n", name_.c_str(), restarts_);
  } catch (const std::exception& e) {
    restart_at_ = now + std::chrono::seconds(kMaxWaitSeconds);
    std::fprintf(say, "ringmaster up: cannot start %s again: %s; trying again in %d s\n",
                 name_.c_str(), e.what(), kMaxWaitSeconds);
  }
  std::fflush(say);
}

}  // namespace ringmaster::cli
