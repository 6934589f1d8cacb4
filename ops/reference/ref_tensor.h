// The test oracle's tensor: a shape and double values in plain row-major
// order. Reference kernels (one file per op in this folder) are plain loops
// that accumulate in double; they are never used on the fast path.
#pragma once

#include <cstdint>
#include <vector>

#include "ops/tensor.h"

namespace ringmaster::ops::reference {

struct RefTensor {
  Shape shape;
  std::vector<double> v;

  RefTensor() = default;
  explicit RefTensor(Shape s) : shape(std::move(s)), v(static_cast<size_t>(shape_numel(shape))) {}
  RefTensor(Shape s, std::vector<double> values) : shape(std::move(s)), v(std::move(values)) {}
  int64_t numel() const { return static_cast<int64_t>(v.size()); }
  // 4-d indexing (N, C, H, W).
  double& at(int64_t n, int64_t c, int64_t h, int64_t w) {
    return v[static_cast<size_t>(((n * shape[1] + c) * shape[2] + h) * shape[3] + w)];
  }
  double at(int64_t n, int64_t c, int64_t h, int64_t w) const {
    return v[static_cast<size_t>(((n * shape[1] + c) * shape[2] + h) * shape[3] + w)];
  }
};

RefTensor from_tensor(const Tensor& t);  // any layout/device -> double
Tensor to_tensor(const RefTensor& r);    // f32 cpu plain

}  // namespace ringmaster::ops::reference
