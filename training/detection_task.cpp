// Detection: images with their objects' boxes (models::Batch boxes and
// box_classes). The model computes its own losses from the boxes in training
// (its training heads are loss terms, summed as they are); in evaluation it
// detects, and the detections are matched to the true boxes image by image
// and summed as score-binned counts (DetectionTally) over batches and ranks:
// VOC mAP@0.5 and COCO mAP@[.5:.95] (figures map50 and map), and per-class AP
// at 0.5 (figures ap50_class_K for each class K with true boxes in the test
// split, and the log line). There is no test loss (reported as 0) and no
// accuracy (units 0).
#include <cstdio>
#include <string>

#include "training/detection_metrics.h"
#include "training/task.h"

namespace ringmaster::training {
namespace {

class DetectionTask : public Task {
 public:
  explicit DetectionTask(int num_classes) : classes_(num_classes) {}

  models::ModelInput model_input(const models::Batch& b) const override {
    RM_THROW_IF(!b.boxes.defined(), "detection needs a data set with boxes");
    return {b.images, {}, b.boxes, b.box_classes};
  }
  ops::Tensor loss(const ops::Tensor& out, const models::Batch&,
                   ops::Device device) const override {
    if (out.ndim() == 0) return out;                         // a loss term the model computed
    return ops::Tensor::zeros({}, ops::DType::f32, device);  // detections: no loss
  }
  void count(const ops::Tensor& out, const models::Batch& b, Tally& t) const override {
    if (out.ndim() != 3) return;                                    // training: loss terms only
    const ops::Tensor det = out.to(ops::Device::cpu()).to_plain();  // (N, D, 6)
    DetectionTally tally(classes_);
    const int64_t n = det.dim(0), d = det.dim(1), m = b.boxes.dim(1);
    for (int64_t i = 0; i < n; ++i) {
      std::vector<Detection> found;
      for (int64_t j = 0; j < d; ++j) {
        const float* r = det.data<float>() + (i * d + j) * 6;
        if (r[5] < 0.0f) break;
        found.push_back({{r[0], r[1], r[2], r[3]}, static_cast<int>(r[5]), r[4]});
      }
      std::vector<GroundTruth> truth;
      for (int64_t j = 0; j < m; ++j) {
        const int64_t c = b.box_classes.data<int64_t>()[i * m + j];
        if (c < 0) continue;
        const float* r = b.boxes.data<float>() + (i * m + j) * 4;
        truth.push_back({{r[0], r[1], r[2], r[3]}, static_cast<int>(c)});
      }
      tally.add_image(found, truth);
    }
    tally.add_into(t.task);
  }
  Tally new_tally() const override {
    Tally t;
    t.task.assign(DetectionTally::flat_size(classes_, DetectionTally::kDefaultScoreBins), 0.0);
    return t;
  }
  Evaluation evaluate(const Tally& t) const override {
    Evaluation ev = Task::evaluate(t);
    if (t.samples == 0.0 || t.task.empty()) return ev;
    const DetectionScores s =
        DetectionTally(classes_, DetectionTally::kDefaultScoreBins, t.task).scores();
    ev.figures["map50"] = s.map50;
    ev.figures["map"] = s.map;
    ev.class_ap50 = s.class_ap50;
    for (size_t k = 1; k < s.class_ap50.size(); ++k)
      if (s.class_ap50[k] >= 0.0) ev.figures["ap50_class_" + std::to_string(k)] = s.class_ap50[k];
    return ev;
  }
  std::string describe(int64_t epoch, const Evaluation& ev) const override {
    const auto map50 = ev.figures.find("map50"), map = ev.figures.find("map");
    if (map50 == ev.figures.end() || map == ev.figures.end()) return {};
    char line[128];
    std::snprintf(line, sizeof line, "epoch %lld: test mAP@0.5 %.4f, mAP@[.5:.95] %.4f",
                  static_cast<long long>(epoch), map50->second, map->second);
    return std::string(line) + "; AP@0.5 per class:" + per_class_list(ev.class_ap50, 1);
  }

 private:
  int classes_;
};

}  // namespace

std::unique_ptr<Task> make_detection_task(int num_classes) {
  return std::make_unique<DetectionTask>(num_classes);
}

}  // namespace ringmaster::training
