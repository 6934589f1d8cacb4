// embedding CPU kernels: rows copied in parallel over the indices; the
// backward sum split over column blocks, so each thread owns its columns and
// adds the rows in index order (deterministic, no atomics).
#include <algorithm>
#include <cstring>

#include "ops/embedding.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

template <class I>
int64_t first_outside(const I* idx, int64_t n, int64_t rows) {
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] < 0 || static_cast<int64_t>(idx[i]) >= rows) return i;
  return -1;
}

int64_t embedding_first_outside_cpu(const Tensor& indices, int64_t rows) {
  const int64_t n = indices.numel();
  return indices.dtype() == DType::i64
             ? first_outside(static_cast<const int64_t*>(indices.raw()), n, rows)
             : first_outside(static_cast<const int32_t*>(indices.raw()), n, rows);
}

int64_t index(const Tensor& indices, int64_t i) {
  return indices.dtype() == DType::i64 ? static_cast<const int64_t*>(indices.raw())[i]
                                       : static_cast<const int32_t*>(indices.raw())[i];
}

void embedding_forward_cpu(const Tensor& weight, const Tensor& indices, const Tensor& y) {
  const int64_t n = indices.numel(), d = weight.dim(1);
  const float* w = static_cast<const float*>(weight.raw());
  float* out = static_cast<float*>(y.raw());
#pragma omp parallel for schedule(static) if (n * d > 32768)
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(out + i * d, w + index(indices, i) * d, static_cast<size_t>(d) * sizeof(float));
}

void embedding_backward_cpu(const Tensor& dy, const Tensor& indices, int64_t padding_idx,
                            const Tensor& dweight) {
  const int64_t n = indices.numel(), rows = dweight.dim(0), d = dweight.dim(1);
  const float* g = static_cast<const float*>(dy.raw());
  float* dw = static_cast<float*>(dweight.raw());
  std::fill(dw, dw + rows * d, 0.0f);
  constexpr int64_t kBlock = 64;  // columns per task
  const int64_t blocks = (d + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n * d > 32768)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t c0 = b * kBlock, c1 = std::min(d, c0 + kBlock);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t v = index(indices, i);
      if (v == padding_idx) continue;
      float* row = dw + v * d;
      const float* src = g + i * d;
      for (int64_t c = c0; c < c1; ++c) row[c] += src[c];
    }
  }
}

}  // namespace

RM_REGISTER_KERNELS(EmbeddingKernels, cpu,
                    {embedding_first_outside_cpu, embedding_forward_cpu, embedding_backward_cpu});

}  // namespace ringmaster::ops
