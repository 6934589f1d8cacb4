// `ringmaster coordinator`: runs the coordinator (REST + control plane) until
// Ctrl-C or SIGTERM.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_coordinator_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
