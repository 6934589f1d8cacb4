// The trainer: runs one training task described by a JobSpec in this process
// (load data, build the model, train for the given epochs, evaluate on the
// test set after every epoch, write the final checkpoint) and reports
// progress through a ProgressSink. Blocks until done or cancelled. Expected
// failures (missing data, corrupt files) throw ops::Error / SpecError with a
// message naming the problem. One rank of a data-parallel job when given a
// DataParallel (see data_parallel.h). It does not choose data sets, tasks or
// sync strategies itself: see dataset_registry.h, task.h, gradient_sync.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "training/data_parallel.h"
#include "training/device_choice.h"
#include "training/job_spec.h"

namespace ringmaster::training {

struct StepProgress {
  int64_t epoch = 0, epochs = 0;  // 1-based epoch
  int64_t step = 0, steps_per_epoch = 0;
  double loss = 0.0;      // running mean over this epoch so far
  double accuracy = 0.0;  // running training accuracy this epoch (0..1)
  double samples_per_second = 0.0;
  std::string sample_unit = "img";  // what a sample is: "img", or "seq" for text data
  double eta_seconds = 0.0;         // whole run
  double lr = 0.0;
  double step_seconds = 0.0;  // this step: forward, backward and update
  int64_t samples = 0;        // in this step's batch
  int64_t steps_total = 0;    // steps trained so far, all epochs (resumed: the checkpoint's too)
  int64_t resumed_from_step = -1;  // RunOptions::resume: the checkpoint's step; -1 fresh
  // The step of the newest periodic checkpoint this run wrote; -1 none yet.
  int64_t checkpoint_step = -1;
};

struct EpochReport {
  int64_t epoch = 0, epochs = 0;
  double train_loss = 0.0, train_accuracy = 0.0;
  double test_loss = 0.0, test_accuracy = 0.0;
  double images_per_second = 0.0;  // training only, this epoch (samples: see sample_unit)
  std::string sample_unit = "img";
  double epoch_seconds = 0.0;
  double lr = 0.0;
  double test_mean_iou = -1.0;  // segmentation data only (accuracies are then per pixel)
  std::map<std::string, double> test_figures;  // the task's own (Evaluation::figures)
  bool trained = true;                         // false: nothing trainable, an evaluation-only pass
};

struct TrainResult {
  int64_t epochs = 0;
  int64_t steps = 0;
  double train_loss = 0.0, train_accuracy = 0.0;  // last epoch
  double test_loss = 0.0, test_accuracy = 0.0;    // after the last epoch
  double test_mean_iou = -1.0;                    // segmentation data only
  std::map<std::string, double> test_figures;     // the task's own, after the last epoch
  double images_per_second = 0.0;                 // training images / training seconds, all epochs
  int64_t samples_trained =
      0;  // training samples of all epochs (resumed: the checkpoint's included)
  std::string sample_unit = "img";  // "seq" when the data is text (no images)
  double wall_seconds = 0.0;        // everything, loading and evaluation included
  int64_t train_samples = 0, test_samples = 0;
  int64_t parameters = 0;
  int threads = 0;
  std::string device;               // "cpu" or "cuda:0"
  std::string precision;            // "fp32" or "fp16"
  int64_t skipped_steps = 0;        // fp16: steps skipped on gradient overflow
  double loss_scale = 0.0;          // fp16: the loss scale at the end (0 in fp32)
  std::string checkpoint_path;      // rank 0 only
  int64_t resumed_from_step = -1;   // RunOptions::resume: the checkpoint's step; -1 fresh
  int64_t checkpoints_written = 0;  // periodic ones, rank 0
  bool cancelled = false;
  // Data-parallel runs (world_size > 1): this rank, and its communication.
  int rank = 0, world_size = 1;
  std::string sync_mode, sync_compression;
  SyncStats sync;
};

// Receives progress; called on the training thread.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void on_log(const std::string& line) = 0;
  virtual void on_step(const StepProgress& p) = 0;
  virtual void on_epoch(const EpochReport& r) = 0;
};

// How a run is hosted: everything but the spec.
struct RunOptions {
  // When given and set, the run stops after the current step (the result
  // then has cancelled = true and no final checkpoint is written).
  const std::atomic<bool>* cancel = nullptr;
  // With world_size > 1 this is one rank of a data-parallel job:
  // train.batch_size is the global batch, split across the ranks, whose
  // gradients are averaged every step (spec.sync), so every rank holds the
  // same weights; metrics are summed over the ranks; rank 0 alone reports
  // steps and epochs and writes the checkpoints. A dead or stalled peer
  // throws comm::CommError within sync.timeout_s; the batch-norm running
  // statistics are averaged over the ranks before each evaluation, so the
  // figures are those of the checkpoint rank 0 writes.
  const DataParallel* dp = nullptr;
  GivenGpus gpus;  // see device_choice.h
  // Continue from the newest whole checkpoint in checkpoint.dir (rank 0's
  // choice, every rank loads it), or start afresh when there is none. With
  // the same spec and thread count the final weights are the bytes of the
  // uninterrupted run's; data-parallel fp16 error-feedback residuals restart
  // at zero.
  bool resume = false;
};

TrainResult run_training(const JobSpec& spec, ProgressSink& sink, const RunOptions& run = {});

}  // namespace ringmaster::training
