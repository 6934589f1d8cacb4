// The one ringmaster binary: subcommands are added by their own files.
#include <CLI/CLI.hpp>

#include "cli/augment_preview_command.h"
#include "cli/train_command.h"

int main(int argc, char** argv) {
  CLI::App app{"ringmaster: train deep networks on a cluster"};
  app.require_subcommand(1);
  int exit_code = 0;
  ringmaster::cli::add_train_command(app, exit_code);
  ringmaster::cli::add_augment_preview_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
