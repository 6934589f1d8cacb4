// `ringmaster sample SPEC.json CHECKPOINT --prompt TEXT --length N
// --temperature T`: text from a trained language model (a spec whose data
// set is text, e.g. fortunes with rnn_lm): the prompt, then N more
// characters drawn at temperature T (0: the most likely each time).
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; the callback runs it and sets the process exit code.
void add_sample_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
