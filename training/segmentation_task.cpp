// Segmentation: a class per pixel (masks (N, H, W)), spatial cross-entropy
// over logits (N, C, H, W); pixel accuracy, and per-class intersection over
// union (its sums are the tally's own: C intersections, then C unions).
#include <cstdio>

#include "ops/spatial_cross_entropy.h"
#include "training/task.h"

namespace ringmaster::training {
namespace {

class SegmentationTask : public Task {
 public:
  explicit SegmentationTask(int classes) : classes_(static_cast<size_t>(classes)) {}

  ops::Tensor loss(const ops::Tensor& logits, const models::Batch& b,
                   ops::Device device) const override {
    return ops::spatial_cross_entropy(logits, b.masks.to(device));
  }
  void count(const ops::Tensor& logits, const models::Batch& b, Tally& t) const override {
    const int64_t* want = b.masks.data<int64_t>();
    double* intersection = t.task.data();
    double* union_ = t.task.data() + classes_;
    for_each_prediction(logits, [&](int64_t i, int64_t k) {
      const auto g = static_cast<size_t>(k), w = static_cast<size_t>(want[i]);
      t.correct += g == w;
      ++t.units;
      ++union_[g];
      if (g == w) ++intersection[g];
      if (g != w) ++union_[w];
    });
  }
  Tally new_tally() const override {
    Tally t;
    t.task.assign(2 * classes_, 0.0);
    return t;
  }
  Evaluation evaluate(const Tally& t) const override {
    Evaluation ev = Task::evaluate(t);
    if (t.samples == 0.0) return ev;
    double sum = 0.0;
    int present = 0;
    for (size_t k = 0; k < classes_; ++k) {
      const double intersection = t.task[k], union_ = t.task[classes_ + k];
      ev.class_iou.push_back(union_ == 0.0 ? -1.0 : intersection / union_);
      if (union_ == 0.0) continue;
      sum += ev.class_iou.back();
      ++present;
    }
    ev.mean_iou = present > 0 ? sum / present : 0.0;
    return ev;
  }
  std::string describe(int64_t epoch, const Evaluation& ev) const override {
    char line[96];
    std::snprintf(line, sizeof line, "epoch %lld: test pixel accuracy %.2f%%, mean IoU %.4f",
                  static_cast<long long>(epoch), 100.0 * ev.accuracy, ev.mean_iou);
    return std::string(line) + "; per class (0 = background):" + per_class_list(ev.class_iou, 0);
  }

 private:
  size_t classes_;
};

}  // namespace

std::unique_ptr<Task> make_segmentation_task(int num_classes) {
  return std::make_unique<SegmentationTask>(num_classes);
}

}  // namespace ringmaster::training
