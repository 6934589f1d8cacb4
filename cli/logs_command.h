// `ringmaster logs ID [-f]`: a job's log lines; -f streams them until the job
// ends (resuming where it left off if the stream breaks).
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_logs_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
