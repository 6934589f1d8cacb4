// Ensemble (see ensemble.h): members as numbered children, and the
// probability average done in double with a max-shifted softmax per row.
#include "models/ensemble.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "ops/autograd.h"

namespace ringmaster::models {

void Ensemble::add_member(std::shared_ptr<Module> m) {
  register_module(std::to_string(size()), std::move(m));
}

std::vector<ops::Tensor> Ensemble::member_logits(const ops::Tensor& x) {
  std::vector<ops::Tensor> out;
  for (const auto& [name, m] : named_children()) out.push_back(m->forward(x));
  return out;
}

std::vector<ops::Tensor> Ensemble::training_heads(const ops::Tensor& x) {
  std::vector<ops::Tensor> out;
  for (const auto& [name, m] : named_children())
    if (m->num_parameters(/*trainable_only=*/true) > 0) out.push_back(m->forward(x));
  return out;
}

ops::Tensor Ensemble::forward(const ops::Tensor& x) {
  RM_CHECK(size() > 0, "an ensemble needs members");
  ops::NoGradGuard no_grad;
  return average_log_probs(member_logits(x));
}

ops::Tensor Ensemble::average_log_probs(const std::vector<ops::Tensor>& logits) {
  RM_CHECK(!logits.empty(), "average of no logits");
  const ops::Shape shape = logits[0].shape();
  RM_CHECK(shape.size() == 2, "ensemble members must give (N, classes) logits, got ",
           ops::shape_str(shape));
  const int64_t n = shape[0], c = shape[1];
  std::vector<double> mean(static_cast<size_t>(n * c), 0.0);
  for (const ops::Tensor& l : logits) {
    RM_CHECK(l.shape() == shape, "ensemble members disagree: ", ops::shape_str(l.shape()), " vs ",
             ops::shape_str(shape));
    const std::vector<float> v = l.to_vector();
    for (int64_t i = 0; i < n; ++i) {
      const float* row = v.data() + i * c;
      const double mx = *std::max_element(row, row + c);
      double z = 0.0;
      for (int64_t j = 0; j < c; ++j) z += std::exp(row[j] - mx);
      for (int64_t j = 0; j < c; ++j)
        mean[static_cast<size_t>(i * c + j)] += std::exp(row[j] - mx) / z;
    }
  }
  ops::Tensor out = ops::Tensor::empty(shape);
  float* o = out.data<float>();
  const double k = static_cast<double>(logits.size());
  for (size_t i = 0; i < mean.size(); ++i) {
    // Floor at the smallest normal float so log never gives -inf.
    o[i] = static_cast<float>(std::log(std::max(mean[i] / k, 1.1754943508222875e-38)));
  }
  return out;
}

}  // namespace ringmaster::models
