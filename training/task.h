// The task interface: what a batch is scored against, the loss, what is
// counted over batches and ranks, and the figures evaluation reports. The
// data set decides the task (dataset_registry.h). To add a task, write
// <name>_task.cpp with a Task subclass and add one line to the table in
// task.cpp; the training loop does not change. Tasks hold no state between
// calls (a Tally carries it), so one may be used from any thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/dataset.h"
#include "models/module.h"
#include "ops/check.h"
#include "ops/tensor.h"
#include "training/job_spec.h"

namespace ringmaster::training {

// Sums over batches, then over ranks: a flat vector, so that ranks add
// them element by element (GradientSync::sum).
struct Tally {
  double loss_sum = 0.0;      // per-sample loss x samples, finite losses only
  double loss_samples = 0.0;  // samples in loss_sum
  double samples = 0.0;
  double correct = 0.0, units = 0.0;  // correct predictions out of units (images, or pixels)
  std::vector<double> task;           // the task's own sums (segmentation: per-class IoU counts)

  double mean_loss() const { return loss_sum / std::max(loss_samples, 1.0); }
  double accuracy() const { return correct / std::max(units, 1.0); }
  size_t flat_size() const { return 5 + task.size(); }
  void append_to(std::vector<double>& out) const;
  // Reads flat_size() values from `in` at `at`, advancing it.
  void read_from(const std::vector<double>& in, size_t& at);
};

// What evaluation reports.
struct Evaluation {
  double loss = 0.0, accuracy = 0.0;
  double mean_iou = -1.0;          // segmentation only: over classes present in truth or prediction
  std::vector<double> class_iou;   // segmentation only: per class, -1 where absent from both
  std::vector<double> class_ap50;  // detection only: AP@0.5 per class, -1 where no truth
  // The task's own test figures by name (language models: perplexity,
  // bits_per_char), reported with the epoch and the result.
  std::map<std::string, double> figures;
};

class Task {
 public:
  virtual ~Task() = default;
  // Called once with the test set before any other call (captioning keeps
  // its vocabulary and its references' corpus statistics).
  virtual void prepare(const models::Dataset& test) { (void)test; }
  // What the model reads of a batch, on the cpu: the images (the default).
  virtual models::ModelInput model_input(const models::Batch& b) const { return {b.images, {}}; }
  // In evaluation, after count(): what the model generates for the batch
  // (in = the batch's input on the model's device), counted into t. Most
  // tasks score the forward output alone and do nothing here.
  virtual void count_generated(models::Module& model, const models::ModelInput& in,
                               const models::Batch& b, Tally& t) const {
    (void)model, (void)in, (void)b, (void)t;
  }
  // The loss of logits (N, C, ...) in f32 on `device` against the batch's
  // targets (a scalar tensor with autograd).
  virtual ops::Tensor loss(const ops::Tensor& logits, const models::Batch& b,
                           ops::Device device) const = 0;
  // Adds the batch's correct predictions and units, and the task's own sums, to t.
  virtual void count(const ops::Tensor& logits, const models::Batch& b, Tally& t) const = 0;
  // An empty tally with room for the task's own sums.
  virtual Tally new_tally() const { return {}; }
  // The figures of a tally (summed over the ranks).
  virtual Evaluation evaluate(const Tally& t) const;
  // A log line after an epoch's evaluation; empty for none.
  virtual std::string describe(int64_t epoch, const Evaluation& ev) const;
};

// The task for data of `kind` with `num_classes` classes.
std::unique_ptr<Task> make_task(TaskKind kind, int num_classes);

// Calls f(unit, class) with the arg-max class of every unit of f32 logits
// (N, C, S...) (images, or pixels), units in (N, S...) order; logits may live
// on any device. What tasks count with, without a buffer per batch.
template <class F>
void for_each_prediction(const ops::Tensor& logits, F f) {
  const ops::Tensor l = logits.to(ops::Device::cpu()).to_plain();
  RM_CHECK(l.dtype() == ops::DType::f32, "predictions need f32 logits, got ",
           ops::dtype_name(l.dtype()));
  const float* p = l.data<float>();
  const int64_t n = l.dim(0), c = l.dim(1), s = l.numel() / std::max<int64_t>(n * c, 1);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < s; ++j) {
      int64_t best = 0;
      for (int64_t k = 1; k < c; ++k)
        if (p[(i * c + k) * s + j] > p[(i * c + best) * s + j]) best = k;
      f(i * s + j, best);
    }
  }
}

// The same as a vector (tests).
std::vector<int64_t> predicted_classes(const ops::Tensor& logits);

// " k v" for each class k from `first` (v with three decimals, "-" where
// negative: absent), for the tasks' per-class log lines.
std::string per_class_list(const std::vector<double>& values, size_t first);

}  // namespace ringmaster::training
