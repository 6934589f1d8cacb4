// `ringmaster up --workers N [--submit SPEC --follow]`: a local cluster, the
// coordinator and N workers as child processes on loopback; Ctrl-C stops all.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_up_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
