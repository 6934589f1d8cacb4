// Progress reports to and from comm's report types, and the result as JSON
// (see progress_json.h).
#include "worker/progress_json.h"

namespace ringmaster::worker {

comm::StepReport to_report(const training::StepProgress& p) {
  comm::StepReport r;
  r.epoch = p.epoch;
  r.epochs = p.epochs;
  r.step = p.step;
  r.steps_per_epoch = p.steps_per_epoch;
  r.loss = p.loss;
  r.accuracy = p.accuracy;
  r.samples_per_second = p.samples_per_second;
  r.eta_seconds = p.eta_seconds;
  r.lr = p.lr;
  r.sample_unit = p.sample_unit;
  r.steps_total = p.steps_total;
  if (p.resumed_from_step >= 0) r.resumed_from_step = p.resumed_from_step;
  if (p.checkpoint_step >= 0) r.checkpoint_step = p.checkpoint_step;
  return r;
}

comm::EpochReport to_report(const training::EpochReport& e) {
  comm::EpochReport r;
  r.epoch = e.epoch;
  r.epochs = e.epochs;
  r.train_loss = e.train_loss;
  r.train_accuracy = e.train_accuracy;
  r.test_loss = e.test_loss;
  r.test_accuracy = e.test_accuracy;
  if (e.test_mean_iou >= 0.0) r.test_mean_iou = e.test_mean_iou;
  r.test_figures = e.test_figures;
  r.images_per_second = e.images_per_second;
  r.epoch_seconds = e.epoch_seconds;
  r.lr = e.lr;
  r.sample_unit = e.sample_unit;
  r.trained = e.trained;
  return r;
}

training::StepProgress from_report(const comm::StepReport& r) {
  training::StepProgress p;
  p.epoch = r.epoch.value_or(0);
  p.epochs = r.epochs.value_or(0);
  p.step = r.step.value_or(0);
  p.steps_per_epoch = r.steps_per_epoch.value_or(0);
  p.loss = r.loss.value_or(0.0);
  p.accuracy = r.accuracy.value_or(0.0);
  p.samples_per_second = r.samples_per_second.value_or(0.0);
  p.eta_seconds = r.eta_seconds.value_or(0.0);
  p.lr = r.lr.value_or(0.0);
  p.sample_unit = r.sample_unit == "seq" ? "seq" : "img";  // nothing else is shown
  p.steps_total = r.steps_total.value_or(0);
  p.resumed_from_step = r.resumed_from_step.value_or(-1);
  p.checkpoint_step = r.checkpoint_step.value_or(-1);
  return p;
}

training::EpochReport from_report(const comm::EpochReport& r) {
  training::EpochReport e;
  e.epoch = r.epoch.value_or(0);
  e.epochs = r.epochs.value_or(0);
  e.train_loss = r.train_loss.value_or(0.0);
  e.train_accuracy = r.train_accuracy.value_or(0.0);
  e.test_loss = r.test_loss.value_or(0.0);
  e.test_accuracy = r.test_accuracy.value_or(0.0);
  e.test_mean_iou = r.test_mean_iou.value_or(-1.0);
  e.test_figures = r.test_figures;
  e.images_per_second = r.images_per_second.value_or(0.0);
  e.epoch_seconds = r.epoch_seconds.value_or(0.0);
  e.lr = r.lr.value_or(0.0);
  e.sample_unit = r.sample_unit == "seq" ? "seq" : "img";
  e.trained = r.trained.value_or(true);  // absent in older reports: they all trained
  return e;
}

comm::ResultReport to_report(const training::TrainResult& r) {
  comm::ResultReport out;
  out.test_accuracy = r.test_accuracy;
  out.test_loss = r.test_loss;
  out.train_loss = r.train_loss;
  out.train_accuracy = r.train_accuracy;
  if (r.test_mean_iou >= 0.0) out.test_mean_iou = r.test_mean_iou;
  out.test_figures = r.test_figures;
  out.epochs = r.epochs;
  out.steps = r.steps;
  out.images_per_second = r.images_per_second;
  out.wall_seconds = r.wall_seconds;
  out.sample_unit = r.sample_unit;
  out.train_samples = r.train_samples;
  out.test_samples = r.test_samples;
  out.parameters = r.parameters;
  out.threads = r.threads;
  out.device = r.device;
  out.precision = r.precision;
  out.skipped_steps = r.skipped_steps;
  out.loss_scale = r.loss_scale;
  out.checkpoint = r.checkpoint_path;
  if (r.world_size > 1) {
    out.world_size = r.world_size;
    out.rank = r.rank;
    out.sync = comm::SyncReport{r.sync_mode,          r.sync_compression,
                                r.sync.steps,         r.sync.buckets,
                                r.sync.bytes_on_wire, r.sync.comm_seconds,
                                r.sync.wait_seconds,  r.sync.buckets_started_before_backward_end};
  }
  return out;
}

nlohmann::json to_json(const training::TrainResult& r) { return comm::to_json(to_report(r)); }

}  // namespace ringmaster::worker
