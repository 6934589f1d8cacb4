// Ensemble: several classifiers whose class probabilities are averaged. Its
// forward is for inference: it returns log(mean_k softmax(logits_k)) (N,
// classes), so argmax and softmax_cross_entropy of the output are those of
// the averaged probabilities; it records no autograd graph. Training uses
// training_heads() (each trainable member's own loss). Members are children "0", "1",
// ... (names "0.conv1.weight"). Same thread-safety as Module: none.
#pragma once

#include <memory>
#include <vector>

#include "models/module.h"

namespace ringmaster::models {

class Ensemble : public Module {
 public:
  void add_member(std::shared_ptr<Module> m);
  size_t size() const { return named_children().size(); }
  std::shared_ptr<Module> member(size_t i) const { return named_children().at(i).second; }

  // x -> log of the members' averaged probabilities (N, classes); no autograd.
  ops::Tensor forward(const ops::Tensor& x) override;
  // Each member's logits (N, classes), with autograd.
  std::vector<ops::Tensor> member_logits(const ops::Tensor& x);
  // Training: the logits of each member with trainable parameters, each
  // trained on its own loss (frozen members only vote in forward), and
  // their average_log_probs as the prediction.
  std::vector<ops::Tensor> training_heads(const ops::Tensor& x) override;
  ops::Tensor combine_heads(const std::vector<ops::Tensor>& heads) override {
    return average_log_probs(heads);
  }

  // log(mean_k softmax(logits_k)) of (N, classes) logits, computed in
  // double; a plain f32 tensor without autograd.
  static ops::Tensor average_log_probs(const std::vector<ops::Tensor>& logits);
};

}  // namespace ringmaster::models
