// `ringmaster augment-preview SPEC.json --out grid.png`: a PNG grid of a few
// training samples, each row one sample: the original, then its augmented
// versions at epochs 0, 1, 2, ... (data.augment of the spec).
#pragma once

#include <CLI/CLI.hpp>

namespace ringmaster::cli {

// Adds the subcommand; the callback runs it and sets the process exit code.
void add_augment_preview_command(CLI::App& app, int& exit_code);

}  // namespace ringmaster::cli
