// Progress reports and results <-> JSON (see progress_report.h): one table
// of fields per report, used both ways.
#include "comm/progress_report.h"

#include <cmath>
#include <string>
#include <variant>

namespace ringmaster::comm {
namespace {

template <class R>
using Field =
    std::pair<const char*, std::variant<std::optional<int64_t> R::*, std::optional<double> R::*,
                                        std::optional<bool> R::*, std::optional<std::string> R::*>>;

const std::vector<Field<StepReport>>& step_fields() {
  static const std::vector<Field<StepReport>> f = {
      {"epoch", &StepReport::epoch},
      {"epochs", &StepReport::epochs},
      {"step", &StepReport::step},
      {"steps_per_epoch", &StepReport::steps_per_epoch},
      {"loss", &StepReport::loss},
      {"accuracy", &StepReport::accuracy},
      {"samples_per_second", &StepReport::samples_per_second},
      {"eta_seconds", &StepReport::eta_seconds},
      {"lr", &StepReport::lr},
      {"sample_unit", &StepReport::sample_unit},
      {"samples_total", &StepReport::samples_total},
      {"steps_total", &StepReport::steps_total},
      {"resumed_from_step", &StepReport::resumed_from_step},
      {"checkpoint_step", &StepReport::checkpoint_step}};
  return f;
}

const std::vector<Field<EpochReport>>& epoch_fields() {
  static const std::vector<Field<EpochReport>> f = {
      {"epoch", &EpochReport::epoch},
      {"epochs", &EpochReport::epochs},
      {"train_loss", &EpochReport::train_loss},
      {"train_accuracy", &EpochReport::train_accuracy},
      {"test_loss", &EpochReport::test_loss},
      {"test_accuracy", &EpochReport::test_accuracy},
      {"test_mean_iou", &EpochReport::test_mean_iou},
      {"images_per_second", &EpochReport::images_per_second},
      {"epoch_seconds", &EpochReport::epoch_seconds},
      {"lr", &EpochReport::lr},
      {"sample_unit", &EpochReport::sample_unit},
      {"trained", &EpochReport::trained}};
  return f;
}

const std::vector<Field<SyncReport>>& sync_fields() {
  static const std::vector<Field<SyncReport>> f = {
      {"mode", &SyncReport::mode},
      {"compression", &SyncReport::compression},
      {"steps", &SyncReport::steps},
      {"buckets", &SyncReport::buckets},
      {"bytes_on_wire", &SyncReport::bytes_on_wire},
      {"comm_seconds", &SyncReport::comm_seconds},
      {"wait_seconds", &SyncReport::wait_seconds},
      {"buckets_started_before_backward_end", &SyncReport::buckets_started_before_backward_end}};
  return f;
}

const std::vector<Field<ResultReport>>& result_fields() {
  static const std::vector<Field<ResultReport>> f = {
      {"test_accuracy", &ResultReport::test_accuracy},
      {"test_loss", &ResultReport::test_loss},
      {"train_loss", &ResultReport::train_loss},
      {"train_accuracy", &ResultReport::train_accuracy},
      {"test_mean_iou", &ResultReport::test_mean_iou},
      {"epochs", &ResultReport::epochs},
      {"steps", &ResultReport::steps},
      {"images_per_second", &ResultReport::images_per_second},
      {"wall_seconds", &ResultReport::wall_seconds},
      {"sample_unit", &ResultReport::sample_unit},
      {"train_samples", &ResultReport::train_samples},
      {"test_samples", &ResultReport::test_samples},
      {"parameters", &ResultReport::parameters},
      {"threads", &ResultReport::threads},
      {"device", &ResultReport::device},
      {"precision", &ResultReport::precision},
      {"skipped_steps", &ResultReport::skipped_steps},
      {"loss_scale", &ResultReport::loss_scale},
      {"checkpoint", &ResultReport::checkpoint},
      {"world_size", &ResultReport::world_size},
      {"rank", &ResultReport::rank}};
  return f;
}

template <class R>
nlohmann::json write(const R& r, const std::vector<Field<R>>& fields) {
  nlohmann::json j = nlohmann::json::object();
  for (const Field<R>& field : fields) {
    const char* key = field.first;  // a plain name: clang 14 cannot capture a structured binding
    std::visit(
        [&](auto m) {
          if ((r.*m).has_value()) j[key] = *(r.*m);
        },
        field.second);
  }
  return j;
}

template <class R>
R read(const nlohmann::json& j, const std::vector<Field<R>>& fields) {
  R r;
  if (!j.is_object()) return r;
  for (const auto& [key, member] : fields) {
    const auto it = j.find(key);
    if (it == j.end()) continue;
    std::visit(
        [&](auto m) {
          using T = typename std::remove_reference_t<decltype(r.*m)>::value_type;
          if constexpr (std::is_same_v<T, std::string>) {
            if (it->is_string()) r.*m = it->template get<std::string>();
          } else if constexpr (std::is_same_v<T, bool>) {
            if (it->is_boolean()) r.*m = it->template get<bool>();
          } else if constexpr (std::is_same_v<T, int64_t>) {
            if (it->is_number_integer()) r.*m = it->template get<int64_t>();
          } else {
            if (it->is_number()) r.*m = it->template get<double>();
          }
        },
        member);
  }
  return r;
}

void write_figures(const TestFigures& f, nlohmann::json& j) {
  if (!f.empty()) j["test_figures"] = f;
}

bool figure_name_ok(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (const char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

TestFigures read_figures(const nlohmann::json& j) {
  TestFigures f;
  if (!j.is_object()) return f;
  const auto it = j.find("test_figures");
  if (it == j.end() || !it->is_object()) return f;
  for (const auto& [name, value] : it->items()) {
    if (f.size() >= kMaxTestFigures) break;
    if (!figure_name_ok(name) || !value.is_number()) continue;
    const double v = value.get<double>();
    if (std::isfinite(v)) f[name] = v;
  }
  return f;
}

}  // namespace

nlohmann::json to_json(const StepReport& r) {
  nlohmann::json j = write(r, step_fields());
  if (!r.step_seconds.empty()) j["step_seconds"] = r.step_seconds;
  return j;
}

nlohmann::json to_json(const EpochReport& r) {
  nlohmann::json j = write(r, epoch_fields());
  write_figures(r.test_figures, j);
  return j;
}

StepReport read_step_report(const nlohmann::json& j) {
  StepReport r = read(j, step_fields());
  if (!j.is_object()) return r;
  const auto times = j.find("step_seconds");
  if (times != j.end() && times->is_array())
    for (const auto& t : *times)
      if (t.is_number()) r.step_seconds.push_back(t.get<double>());
  return r;
}

EpochReport read_epoch_report(const nlohmann::json& j) {
  EpochReport r = read(j, epoch_fields());
  r.test_figures = read_figures(j);
  return r;
}

nlohmann::json to_json(const ResultReport& r) {
  nlohmann::json j = write(r, result_fields());
  write_figures(r.test_figures, j);
  if (r.sync) j["sync"] = write(*r.sync, sync_fields());
  return j;
}

ResultReport read_result_report(const nlohmann::json& j) {
  ResultReport r = read(j, result_fields());
  r.test_figures = read_figures(j);
  if (j.is_object())
    if (const auto s = j.find("sync"); s != j.end() && s->is_object())
      r.sync = read(*s, sync_fields());
  return r;
}

}  // namespace ringmaster::comm
