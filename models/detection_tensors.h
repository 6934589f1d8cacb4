// Small tensor helpers the detection models share: host vectors to device
// tensors and back, and picking elements of a tensor by flat index with
// autograd (a one-column embedding lookup, whose backward scatters the
// gradient back), which is how Faster R-CNN's losses read the sampled
// anchors' and RoIs' outputs without a permute. Internal to models/.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/embedding.h"
#include "ops/reshape.h"
#include "ops/tensor.h"

namespace ringmaster::models {

inline ops::Tensor i64_tensor(const std::vector<int64_t>& v, ops::Device d) {
  ops::Tensor t = ops::Tensor::empty({static_cast<int64_t>(v.size())}, ops::DType::i64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t.to(d);
}

inline ops::Tensor f32_tensor(const std::vector<float>& v, const ops::Shape& shape, ops::Device d) {
  return ops::Tensor::from_vector(v, shape).to(d);
}

// The values of a tensor on the host, plain order.
inline std::vector<float> host_values(const ops::Tensor& t) {
  return t.to(ops::Device::cpu()).to_vector();
}

// x's elements at flat (row-major) positions `at`, as (K, 1), with autograd.
inline ops::Tensor pick_elements(const ops::Tensor& x, const std::vector<int64_t>& at) {
  const ops::Tensor column = ops::reshape(x, {x.numel(), 1});
  return ops::embedding(column, i64_tensor(at, x.device()));
}

}  // namespace ringmaster::models
