// RunPosition to and from state.json (see run_position.h).
#include "training/run_position.h"

#include "models/layers.h"
#include "ops/check.h"

namespace ringmaster::training {
namespace {

template <class T>
T field(const nlohmann::json& j, const char* name) {
  const auto it = j.find(name);
  RM_THROW_IF(it == j.end(), "checkpoint state: ", name, " is missing");
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw ops::Error(std::string("checkpoint state: ") + name + " has the wrong type (" +
                     it->type_name() + ")");
  }
}

}  // namespace

nlohmann::json to_json(const RunPosition& p) {
  nlohmann::json j = {{"epoch", p.epoch},
                      {"step_in_epoch", p.step_in_epoch},
                      {"steps", p.steps},
                      {"seed", p.seed},
                      {"batch_size", p.batch_size},
                      {"steps_per_epoch", p.steps_per_epoch},
                      {"dropout_calls", p.dropout_calls},
                      {"epoch_tally", p.epoch_tally},
                      {"epoch_samples", p.epoch_samples},
                      {"epoch_seconds", p.epoch_seconds},
                      {"train_seconds", p.train_seconds},
                      {"train_samples", p.train_samples},
                      {"epochs_done", p.epochs_done},
                      {"train_loss", p.train_loss},
                      {"train_accuracy", p.train_accuracy},
                      {"test_loss", p.test_loss},
                      {"test_accuracy", p.test_accuracy},
                      {"test_mean_iou", p.test_mean_iou},
                      {"test_figures", p.test_figures}};
  if (p.scaler)
    j["scaler"] = {{"scale", p.scaler->scale},
                   {"good_in_a_row", p.scaler->good_in_a_row},
                   {"skipped", p.scaler->skipped}};
  return j;
}

RunPosition run_position_from_json(const nlohmann::json& j) {
  RM_THROW_IF(!j.is_object(), "checkpoint state is not a JSON object");
  RunPosition p;
  p.epoch = field<int64_t>(j, "epoch");
  p.step_in_epoch = field<int64_t>(j, "step_in_epoch");
  p.steps = field<int64_t>(j, "steps");
  p.seed = field<uint64_t>(j, "seed");
  p.batch_size = field<int64_t>(j, "batch_size");
  p.steps_per_epoch = field<int64_t>(j, "steps_per_epoch");
  p.dropout_calls = field<std::map<std::string, uint64_t>>(j, "dropout_calls");
  p.epoch_tally = field<std::vector<double>>(j, "epoch_tally");
  p.epoch_samples = field<double>(j, "epoch_samples");
  if (j.contains("epoch_seconds"))  // absent in checkpoints before it was kept
    p.epoch_seconds = field<double>(j, "epoch_seconds");
  p.train_seconds = field<double>(j, "train_seconds");
  p.train_samples = field<double>(j, "train_samples");
  p.epochs_done = field<int64_t>(j, "epochs_done");
  p.train_loss = field<double>(j, "train_loss");
  p.train_accuracy = field<double>(j, "train_accuracy");
  p.test_loss = field<double>(j, "test_loss");
  p.test_accuracy = field<double>(j, "test_accuracy");
  p.test_mean_iou = field<double>(j, "test_mean_iou");
  if (j.contains("test_figures"))  // absent in checkpoints before it was kept
    p.test_figures = field<std::map<std::string, double>>(j, "test_figures");
  RM_THROW_IF(p.epoch < 0 || p.step_in_epoch < 0 || p.steps < 0 || p.epochs_done < 0,
              "checkpoint state: a negative position");
  if (j.contains("scaler")) {
    const nlohmann::json& s = j["scaler"];
    RM_THROW_IF(!s.is_object(), "checkpoint state: scaler is not an object");
    p.scaler = ScalerState{field<double>(s, "scale"), field<int64_t>(s, "good_in_a_row"),
                           field<int64_t>(s, "skipped")};
  }
  return p;
}

std::map<std::string, uint64_t> dropout_calls(models::Module& model) {
  std::map<std::string, uint64_t> out;
  for (const auto& [name, m] : model.named_modules())
    if (const auto* d = dynamic_cast<const models::RandomDraws*>(m)) out[name] = d->calls();
  return out;
}

void restore_dropout_calls(models::Module& model, const std::map<std::string, uint64_t>& calls) {
  size_t restored = 0;
  for (const auto& [name, m] : model.named_modules()) {
    auto* d = dynamic_cast<models::RandomDraws*>(m);
    if (d == nullptr) continue;
    const auto it = calls.find(name);
    RM_THROW_IF(it == calls.end(), "checkpoint state has no random draws for module '", name, "'");
    d->set_calls(it->second);
    ++restored;
  }
  RM_THROW_IF(restored != calls.size(), "checkpoint state has random draws for ", calls.size(),
              " modules, the model has ", restored);
}

}  // namespace ringmaster::training
