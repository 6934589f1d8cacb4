// SIGINT / SIGTERM handling (see signals.h). The handler only stores to a
// lock-free atomic or calls _exit, both async-signal-safe.
#include "cli/signals.h"

#include <signal.h>
#include <unistd.h>

namespace ringmaster::cli {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

void on_signal(int sig) {
  if (sig == SIGINT && g_stop.load()) _exit(130);
  g_stop.store(true);
}

}  // namespace

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop.load(); }
const std::atomic<bool>& stop_flag() { return g_stop; }

}  // namespace ringmaster::cli
