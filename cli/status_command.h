// `ringmaster status ID [-o json]`: one job in detail (state, placement,
// timestamps, progress, result). Read-only.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_status_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
