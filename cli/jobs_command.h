// `ringmaster jobs [--state S] [-o json]`: lists jobs, one line each.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_jobs_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
