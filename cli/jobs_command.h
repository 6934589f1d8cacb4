// `ringmaster jobs [--state S] [-o json]`: lists the most recent jobs, one line
// each (state, worker, progress or result). Read-only.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_jobs_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
