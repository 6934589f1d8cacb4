// Progress reports <-> JSON (see progress_json.h).
#include "worker/progress_json.h"

namespace ringmaster::worker {
namespace {

double num(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}
int64_t integer(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}
bool boolean(const nlohmann::json& j, const char* key, bool fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace

nlohmann::json to_json(const StepProgress& p) {
  return {{"epoch", p.epoch},
          {"epochs", p.epochs},
          {"step", p.step},
          {"steps_per_epoch", p.steps_per_epoch},
          {"loss", p.loss},
          {"accuracy", p.accuracy},
          {"samples_per_second", p.samples_per_second},
          {"eta_seconds", p.eta_seconds},
          {"lr", p.lr}};
}

nlohmann::json to_json(const EpochReport& r) {
  return {{"epoch", r.epoch},
          {"epochs", r.epochs},
          {"train_loss", r.train_loss},
          {"train_accuracy", r.train_accuracy},
          {"test_loss", r.test_loss},
          {"test_accuracy", r.test_accuracy},
          {"images_per_second", r.images_per_second},
          {"epoch_seconds", r.epoch_seconds},
          {"lr", r.lr},
          {"trained", r.trained}};
}

nlohmann::json to_json(const TrainResult& r) {
  nlohmann::json j = {{"test_accuracy", r.test_accuracy},
                      {"test_loss", r.test_loss},
                      {"train_loss", r.train_loss},
                      {"train_accuracy", r.train_accuracy},
                      {"epochs", r.epochs},
                      {"steps", r.steps},
                      {"images_per_second", r.images_per_second},
                      {"wall_seconds", r.wall_seconds},
                      {"train_samples", r.train_samples},
                      {"test_samples", r.test_samples},
                      {"parameters", r.parameters},
                      {"threads", r.threads},
                      {"device", r.device},
                      {"precision", r.precision},
                      {"skipped_steps", r.skipped_steps},
                      {"loss_scale", r.loss_scale},
                      {"checkpoint", r.checkpoint_path}};
  if (r.test_mean_iou >= 0.0) j["test_mean_iou"] = r.test_mean_iou;
  if (r.world_size > 1) {
    j["world_size"] = r.world_size;
    j["rank"] = r.rank;
    j["sync"] = {
        {"mode", r.sync_mode},
        {"compression", r.sync_compression},
        {"steps", r.sync.steps},
        {"buckets", r.sync.buckets},
        {"bytes_on_wire", r.sync.bytes_on_wire},
        {"comm_seconds", r.sync.comm_seconds},
        {"wait_seconds", r.sync.wait_seconds},
        {"buckets_started_before_backward_end", r.sync.buckets_started_before_backward_end}};
  }
  return j;
}

StepProgress step_from_json(const nlohmann::json& j) {
  StepProgress p;
  if (!j.is_object()) return p;
  p.epoch = integer(j, "epoch");
  p.epochs = integer(j, "epochs");
  p.step = integer(j, "step");
  p.steps_per_epoch = integer(j, "steps_per_epoch");
  p.loss = num(j, "loss");
  p.accuracy = num(j, "accuracy");
  p.samples_per_second = num(j, "samples_per_second");
  p.eta_seconds = num(j, "eta_seconds");
  p.lr = num(j, "lr");
  return p;
}

EpochReport epoch_from_json(const nlohmann::json& j) {
  EpochReport r;
  if (!j.is_object()) return r;
  r.epoch = integer(j, "epoch");
  r.epochs = integer(j, "epochs");
  r.train_loss = num(j, "train_loss");
  r.train_accuracy = num(j, "train_accuracy");
  r.test_loss = num(j, "test_loss");
  r.test_accuracy = num(j, "test_accuracy");
  r.images_per_second = num(j, "images_per_second");
  r.epoch_seconds = num(j, "epoch_seconds");
  r.lr = num(j, "lr");
  r.trained = boolean(j, "trained", true);  // absent in older reports: they all trained
  return r;
}

}  // namespace ringmaster::worker
