// The table of tasks (see task.h), the tally's flat layout, and what tasks share.
#include "training/task.h"

#include <cstdio>
#include <functional>
#include <map>

#include "ops/check.h"

namespace ringmaster::training {

std::unique_ptr<Task> make_classification_task(int num_classes);  // classification_task.cpp
std::unique_ptr<Task> make_segmentation_task(int num_classes);    // segmentation_task.cpp
std::unique_ptr<Task> make_language_model_task(int num_classes);  // language_model_task.cpp
std::unique_ptr<Task> make_captioning_task(int num_classes);      // captioning_task.cpp
std::unique_ptr<Task> make_detection_task(int num_classes);       // detection_task.cpp

std::unique_ptr<Task> make_task(TaskKind kind, int num_classes) {
  static const std::map<TaskKind, std::function<std::unique_ptr<Task>(int)>> table = {
      {TaskKind::kClassification, make_classification_task},
      {TaskKind::kSegmentation, make_segmentation_task},
      {TaskKind::kLanguageModel, make_language_model_task},
      {TaskKind::kCaptioning, make_captioning_task},
      {TaskKind::kDetection, make_detection_task},
  };
  auto it = table.find(kind);
  RM_CHECK(it != table.end(), "no task for ", to_string(kind));
  return it->second(num_classes);
}

void Tally::append_to(std::vector<double>& out) const {
  out.insert(out.end(), {loss_sum, loss_samples, samples, correct, units});
  out.insert(out.end(), task.begin(), task.end());
}

void Tally::read_from(const std::vector<double>& in, size_t& at) {
  RM_CHECK(at + flat_size() <= in.size(), "tally: ", in.size() - at, " values left, need ",
           flat_size());
  double* fixed[] = {&loss_sum, &loss_samples, &samples, &correct, &units};
  for (double* f : fixed) *f = in[at++];
  for (double& v : task) v = in[at++];
}

Evaluation Task::evaluate(const Tally& t) const {
  if (t.samples == 0.0) return {};
  return {t.loss_sum / t.samples, t.accuracy()};
}

std::string Task::describe(int64_t, const Evaluation&) const { return {}; }

std::vector<int64_t> predicted_classes(const ops::Tensor& logits) {
  std::vector<int64_t> out;
  for_each_prediction(logits, [&](int64_t, int64_t k) { out.push_back(k); });
  return out;
}

std::string per_class_list(const std::vector<double>& values, size_t first) {
  std::string out;
  char item[48];
  for (size_t k = first; k < values.size(); ++k) {
    if (values[k] < 0.0)
      std::snprintf(item, sizeof item, " %zu -", k);
    else
      std::snprintf(item, sizeof item, " %zu %.3f", k, values[k]);
    out.append(item);
  }
  return out;
}

}  // namespace ringmaster::training
