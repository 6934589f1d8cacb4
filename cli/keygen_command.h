// `ringmaster keygen NAME`: a CURVE keypair for the control plane, written
// to NAME.key (public and secret, mode 0600) and NAME.pub (the public key,
// for the other side: a coordinator's for its workers' --coordinator-key, a
// worker's for the coordinator's --allow-workers file).
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; its callback runs it and sets the process exit code.
void add_keygen_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
