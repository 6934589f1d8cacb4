// `ringmaster cancel ID`: cancels a job (idempotent). A running job stops
// after its current step; this command does not wait for that.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_cancel_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
