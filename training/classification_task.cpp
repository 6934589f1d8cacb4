// Classification: one label per image, softmax cross-entropy over logits
// (N, C), accuracy over images.
#include "ops/softmax.h"
#include "training/task.h"

namespace ringmaster::training {
namespace {

class ClassificationTask : public Task {
 public:
  ops::Tensor loss(const ops::Tensor& logits, const models::Batch& b,
                   ops::Device device) const override {
    return ops::softmax_cross_entropy(logits, b.labels.to(device));
  }
  void count(const ops::Tensor& logits, const models::Batch& b, Tally& t) const override {
    const int64_t* want = b.labels.data<int64_t>();
    for_each_prediction(logits, [&](int64_t i, int64_t k) {
      t.correct += k == want[i];
      ++t.units;
    });
  }
};

}  // namespace

std::unique_ptr<Task> make_classification_task(int) {
  return std::make_unique<ClassificationTask>();
}

}  // namespace ringmaster::training
