// `ringmaster train`: parse the spec (every bad field named by JSON pointer),
// run the trainer with a progress display, print the result, and write the
// metrics JSON when asked. Exit codes: 0 done, 1 training failed, 2 bad spec
// or usage.
#include "cli/train_command.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/progress_display.h"
#include "models/job_spec.h"
#include "ops/check.h"
#include "worker/progress_json.h"
#include "worker/trainer.h"

namespace ringmaster::cli {
namespace {

struct TrainOptions {
  std::string spec_path;
  std::string metrics_out;
};

void write_metrics(const std::string& path, const worker::TrainResult& r) {
  const nlohmann::json j = worker::to_json(r);
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(path);
  if (!out) throw ops::Error("cannot write metrics file " + path);
  out << j.dump(2) << "\n";
}

int run_train(const TrainOptions& o) {
  models::JobSpec spec;
  try {
    spec = models::load_job_spec(o.spec_path);
  } catch (const models::SpecError& e) {
    std::fprintf(stderr, "ringmaster train: invalid spec %s:\n%s\n", o.spec_path.c_str(), e.what());
    return 2;
  }
  ProgressDisplay display(stdout, isatty(fileno(stdout)) != 0);
  try {
    worker::TrainResult r = worker::run_training(spec, display);
    std::printf("done: test accuracy %.2f%%, train loss %.4f, %lld epochs, %.0f img/s, %.1f s\n",
                100.0 * r.test_accuracy, r.train_loss, static_cast<long long>(r.epochs),
                r.images_per_second, r.wall_seconds);
    if (!o.metrics_out.empty()) write_metrics(o.metrics_out, r);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ringmaster train: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model from a job spec in this process");
  cmd->add_option("spec", opts->spec_path, "Job spec (JSON)")->required();
  cmd->add_option("--metrics-out", opts->metrics_out, "Write final metrics as JSON to this file");
  cmd->callback([opts, &exit_code] { exit_code = run_train(*opts); });
}

}  // namespace ringmaster::cli
