// The progress reports a training task sends (worker -> coordinator, in a
// "progress" message's `report`, kind "step" or "epoch") and its result (the
// `finished` message's `result`), which the coordinator keeps and serves to
// clients (`GET /v1/jobs/{id}`: `progress`, `epochs`, `result`). Declared here once: the trainer's
// agent writes them, the coordinator's metrics and the CLI read them, all through these types.
// Reading is lenient, as the reports are for display and metrics only: a
// field that is absent or of the wrong type is left empty (nullopt), never
// an error, so a reader keeps what it had.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ringmaster::comm {

// After a step (rank 0 of a data-parallel job: the figures over all ranks).
struct StepReport {
  std::optional<int64_t> epoch, epochs;  // 1-based epoch
  std::optional<int64_t> step, steps_per_epoch;
  std::optional<double> loss;      // running mean over this epoch so far
  std::optional<double> accuracy;  // running training accuracy this epoch (0..1)
  std::optional<double> samples_per_second, eta_seconds, lr;
  std::optional<std::string> sample_unit;  // what a sample is: "img", or "seq" (text)
  // The task's samples so far (a smaller total than before: it started again).
  std::optional<int64_t> samples_total;
  // Steps trained so far, all epochs (a resumed run counts the checkpoint's),
  // and the checkpoint step a resumed run started from (absent: from scratch).
  std::optional<int64_t> steps_total, resumed_from_step;
  // The step of the newest periodic checkpoint this task wrote (absent: none).
  std::optional<int64_t> checkpoint_step;
  // The duration of every step since the previous report.
  std::vector<double> step_seconds;
};

// A task's own test figures by name ("test_figures": {"perplexity": 4.1}).
// Read back bounded: at most kMaxTestFigures names of 1 to 32 characters
// [a-z0-9_] with finite values; anything else is dropped.
using TestFigures = std::map<std::string, double>;
inline constexpr size_t kMaxTestFigures = 32;

// After an epoch's evaluation.
struct EpochReport {
  std::optional<int64_t> epoch, epochs;
  std::optional<double> train_loss, train_accuracy, test_loss, test_accuracy;
  std::optional<double> test_mean_iou;  // segmentation only
  TestFigures test_figures;             // the task's own (language models: perplexity ...)
  std::optional<double> images_per_second, epoch_seconds, lr;
  std::optional<std::string> sample_unit;  // what images_per_second counts: "img" or "seq"
  std::optional<bool> trained;             // false: an evaluation-only pass (absent: it trained)
};

// A data-parallel rank's communication, summed over its steps.
struct SyncReport {
  std::optional<std::string> mode, compression;  // the spec's spelling
  std::optional<int64_t> steps, buckets, bytes_on_wire;
  std::optional<double> comm_seconds, wait_seconds;
  std::optional<int64_t> buckets_started_before_backward_end;
};

// A finished task's result (the `finished` message's `result`, the job's
// `result` over REST, and `ringmaster train --metrics-out`).
struct ResultReport {
  std::optional<double> test_accuracy, test_loss, train_loss, train_accuracy;
  std::optional<double> test_mean_iou;  // segmentation only
  TestFigures test_figures;             // the task's own, after the last epoch
  std::optional<int64_t> epochs, steps;
  std::optional<double> images_per_second, wall_seconds;
  std::optional<std::string> sample_unit;  // what images_per_second counts: "img", or "seq" (text)
  std::optional<int64_t> train_samples, test_samples, parameters, threads;
  std::optional<std::string> device, precision;
  std::optional<int64_t> skipped_steps;  // fp16
  std::optional<double> loss_scale;      // fp16
  std::optional<std::string> checkpoint;
  std::optional<int64_t> world_size, rank;  // data-parallel only
  std::optional<SyncReport> sync;           // data-parallel only
};

nlohmann::json to_json(const StepReport& r);
nlohmann::json to_json(const EpochReport& r);
StepReport read_step_report(const nlohmann::json& j);
EpochReport read_epoch_report(const nlohmann::json& j);
nlohmann::json to_json(const ResultReport& r);
ResultReport read_result_report(const nlohmann::json& j);

}  // namespace ringmaster::comm
