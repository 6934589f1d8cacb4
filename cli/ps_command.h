// `ringmaster ps`: one parameter-server shard as its own process, serving any
// job whose clients init keys on it (their optimizer configuration comes in
// the init, see coordinator::PsUpdateConfig). Runs until Ctrl-C or SIGTERM.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_ps_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
