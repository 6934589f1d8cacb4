// `ringmaster train`: parse the spec (every bad field named by JSON pointer),
// run the trainer with a progress display, print the result, and write the
// metrics JSON when asked. Exit codes: 0 done, 1 training failed, 2 bad spec
// or usage.
#include "cli/train_command.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>

#include "cli/progress_display.h"
#include "cli/test_headline.h"
#include "ops/check.h"
#include "training/job_spec.h"
#include "training/trainer.h"
#include "worker/gpu_placement.h"
#include "worker/progress_json.h"

namespace ringmaster::cli {
namespace {

struct TrainOptions {
  std::string spec_path;
  std::string metrics_out;
  int rank = 0, world_size = 1;
  std::string rendezvous, host = "127.0.0.1";
  std::vector<std::string> ps;
  std::string job_id;
  std::string gpus = "all";
  bool resume = false;
};

void write_metrics(const std::string& path, const training::TrainResult& r) {
  nlohmann::json j = worker::to_json(r);
  // Each task figure also as a top-level test_<name> (test_map50, test_perplexity, ...).
  for (const auto& [name, value] : r.test_figures) j["test_" + name] = value;
  std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  std::ofstream out(path);
  if (!out) throw ops::Error("cannot write metrics file " + path);
  out << j.dump(2) << "\n";
}

int run_train(const TrainOptions& o) {
  training::GivenGpus gpus;
  try {
    gpus = worker::parse_gpu_list(o.gpus);
  } catch (const ops::Error& e) {
    std::fprintf(stderr, "ringmaster train: %s\n", e.what());
    return 2;
  }
  training::JobSpec spec;
  try {
    spec = training::load_job_spec(o.spec_path);
  } catch (const models::SpecError& e) {
    std::fprintf(stderr, "ringmaster train: invalid spec %s:\n%s\n", o.spec_path.c_str(), e.what());
    return 2;
  }
  if (o.world_size > 1 && o.rendezvous.empty()) {
    std::fprintf(stderr, "ringmaster train: --world-size > 1 needs --rendezvous DIR\n");
    return 2;
  }
  if (o.rank < 0 || o.rank >= o.world_size) {
    std::fprintf(stderr, "ringmaster train: --rank %d is outside --world-size %d\n", o.rank,
                 o.world_size);
    return 2;
  }
  training::DataParallel dp;
  dp.rank = o.rank;
  dp.world_size = o.world_size;
  dp.host = o.host;
  dp.ps_servers = o.ps;
  dp.job_id = o.job_id;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(spec.sync.timeout_s * 1000));
  dp.rendezvous = [&](const std::string& endpoint, const std::string& nccl_id) {
    return training::file_rendezvous(o.rendezvous, o.rank, o.world_size, endpoint, nccl_id,
                                     timeout);
  };
  ProgressDisplay display(stdout, isatty(fileno(stdout)) != 0);
  try {
    training::RunOptions run;
    run.dp = o.world_size > 1 ? &dp : nullptr;
    run.gpus = gpus;
    run.resume = o.resume;
    training::TrainResult r = training::run_training(spec, display, run);
    const std::string headline = test_headline(
        r.test_figures, r.test_accuracy,
        r.test_mean_iou >= 0.0 ? std::optional<double>(r.test_mean_iou) : std::nullopt);
    if (r.steps == 0) {
      std::printf("done: %s, evaluation only (nothing trained), %.1f s\n", headline.c_str(),
                  r.wall_seconds);
    } else {
      std::printf("done: %s, train loss %.4f, %lld epochs, %.0f %s/s, %.1f s\n", headline.c_str(),
                  r.train_loss, static_cast<long long>(r.epochs), r.images_per_second,
                  r.sample_unit.c_str(), r.wall_seconds);
    }
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
  cmd->add_option("--rank", opts->rank, "This process's rank in a data-parallel run (0-based)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--world-size", opts->world_size,
                  "Processes in the data-parallel run (train.batch_size is their global batch)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--rendezvous", opts->rendezvous,
                  "Folder all ranks share to exchange ring endpoints (fresh per run)");
  cmd->add_option("--host", opts->host,
                  "Address this rank's ring listens on (peers must reach it)");
  cmd->add_option("--ps", opts->ps,
                  "sync.mode \"ps\": the parameter-server shards (`ringmaster ps`), in shard order")
      ->delimiter(',');
  cmd->add_option("--job-id", opts->job_id,
                  "The run's name on the parameter-server shards (default: the spec's name)");
  cmd->add_flag("--resume", opts->resume,
                "Continue from the newest whole checkpoint of checkpoint.every_epochs / "
                "every_steps (in <folder of checkpoint.path>/checkpoints), if there is one");
  cmd->add_option("--gpus", opts->gpus,
                  "GPUs this process may train on (it uses the first): all, none, or CUDA "
                  "ordinals such as 1; ranks on one host need one each")
      ->capture_default_str();
  cmd->callback([opts, &exit_code] { exit_code = run_train(*opts); });
}

}  // namespace ringmaster::cli
