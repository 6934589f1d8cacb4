// Ensemble: several classifiers whose class probabilities are averaged. Its
// forward is for inference: it returns log(mean_k softmax(logits_k)) (N,
// classes), so argmax and softmax_cross_entropy of the output are those of
// the averaged probabilities; it records no autograd graph. Training uses
// member_logits() (each member's own loss). Members are children "0", "1",
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

  // log(mean_k softmax(logits_k)) of (N, classes) logits, computed in
  // double; a plain f32 tensor without autograd.
  static ops::Tensor average_log_probs(const std::vector<ops::Tensor>& logits);
};

}  // namespace ringmaster::models
