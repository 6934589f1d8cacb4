// `ringmaster train SPEC.json [--metrics-out FILE]`: trains in this process.
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; the callback runs it and sets the process exit code.
void add_train_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
