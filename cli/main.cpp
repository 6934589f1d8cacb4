// The one ringmaster binary: subcommands are added by their own files.
#include <CLI/CLI.hpp>

#include "cli/augment_preview_command.h"
#include "cli/cancel_command.h"
#include "cli/caption_command.h"
#include "cli/classify_command.h"
#include "cli/coordinator_command.h"
#include "cli/detect_command.h"
#include "cli/jobs_command.h"
#include "cli/keygen_command.h"
#include "cli/logs_command.h"
#include "cli/ps_command.h"
#include "cli/sample_command.h"
#include "cli/status_command.h"
#include "cli/submit_command.h"
#include "cli/train_command.h"
#include "cli/up_command.h"
#include "cli/worker_command.h"
#include "cli/workers_command.h"

int main(int argc, char** argv) {
  CLI::App app{"ringmaster: train deep networks on a cluster"};
  app.require_subcommand(1);
  int exit_code = 0;
  ringmaster::cli::add_train_command(app, exit_code);
  ringmaster::cli::add_augment_preview_command(app, exit_code);
  ringmaster::cli::add_sample_command(app, exit_code);
  ringmaster::cli::add_caption_command(app, exit_code);
  ringmaster::cli::add_detect_command(app, exit_code);
  ringmaster::cli::add_classify_command(app, exit_code);
  ringmaster::cli::add_up_command(app, exit_code);
  ringmaster::cli::add_submit_command(app, exit_code);
  ringmaster::cli::add_jobs_command(app, exit_code);
  ringmaster::cli::add_status_command(app, exit_code);
  ringmaster::cli::add_logs_command(app, exit_code);
  ringmaster::cli::add_cancel_command(app, exit_code);
  ringmaster::cli::add_workers_command(app, exit_code);
  ringmaster::cli::add_coordinator_command(app, exit_code);
  ringmaster::cli::add_worker_command(app, exit_code);
  ringmaster::cli::add_ps_command(app, exit_code);
  ringmaster::cli::add_keygen_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return exit_code;
}
