// Ctrl-C and SIGTERM for long-running subcommands: the first sets a flag the
// command's loop polls; a second SIGINT exits at once (status 130).
// Process-wide; install once per process.
#pragma once

#include <atomic>

namespace ringmaster::cli {

void install_stop_signals();
bool stop_requested();
const std::atomic<bool>& stop_flag();

}  // namespace ringmaster::cli
