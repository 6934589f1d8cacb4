// `ringmaster workers [-o json]`: the workers the coordinator knows, live and
// dead (with why), and the tasks they hold. Read-only.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_workers_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
