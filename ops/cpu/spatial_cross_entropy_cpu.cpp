// spatial_cross_entropy CPU kernels: per image, a max-shifted softmax over C
// for every pixel (pixels contiguous, so the loops over C stride by S), the
// loss accumulated in double; images in parallel. Plain loops: oneDNN's
// softmax would need a channels-last copy first.
#include <cmath>
#include <vector>

#include "ops/kernel_registry.h"
#include "ops/spatial_cross_entropy.h"

namespace ringmaster::ops {
namespace {

int64_t label_at(const Tensor& labels, int64_t i) {
  return labels.dtype() == DType::i64 ? labels.data<int64_t>()[i]
                                      : static_cast<int64_t>(labels.data<int32_t>()[i]);
}

int64_t sce_forward_cpu(const Tensor& logits, const Tensor& labels, const Tensor& probs,
                        const Tensor& loss) {
  const int64_t n = logits.dim(0), c = logits.dim(1), s = logits.dim(2);
  const float* x = logits.data<float>();
  float* p = probs.data<float>();
  std::vector<double> per_image(static_cast<size_t>(n), 0.0);
  std::vector<int64_t> bad(static_cast<size_t>(n), -1);
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < n; ++b) {
    const float* xb = x + b * c * s;  // (C, S)
    float* pb = p + b * c * s;
    std::vector<float> mx(static_cast<size_t>(s), -INFINITY), z(static_cast<size_t>(s), 0.0f);
    for (int64_t k = 0; k < c; ++k)
      for (int64_t j = 0; j < s; ++j)
        mx[static_cast<size_t>(j)] = std::max(mx[static_cast<size_t>(j)], xb[k * s + j]);
    for (int64_t k = 0; k < c; ++k) {
      for (int64_t j = 0; j < s; ++j) {
        const float e = std::exp(xb[k * s + j] - mx[static_cast<size_t>(j)]);
        pb[k * s + j] = e;
        z[static_cast<size_t>(j)] += e;
      }
    }
    for (int64_t k = 0; k < c; ++k)
      for (int64_t j = 0; j < s; ++j) pb[k * s + j] /= z[static_cast<size_t>(j)];
    double sum = 0.0;
    for (int64_t j = 0; j < s; ++j) {
      const int64_t y = label_at(labels, b * s + j);
      if (y < 0 || y >= c) {
        bad[static_cast<size_t>(b)] = b * s + j;
        break;
      }
      // -log p = log z + max - x, without the underflow of log(p).
      sum += std::log(static_cast<double>(z[static_cast<size_t>(j)])) + mx[static_cast<size_t>(j)] -
             xb[y * s + j];
    }
    per_image[static_cast<size_t>(b)] = sum;
  }
  double total = 0.0;
  for (int64_t b = 0; b < n; ++b) {
    if (bad[static_cast<size_t>(b)] >= 0) return bad[static_cast<size_t>(b)];
    total += per_image[static_cast<size_t>(b)];
  }
  loss.data<float>()[0] = static_cast<float>(total / static_cast<double>(n * s));
  return -1;
}

void sce_backward_cpu(const Tensor& probs, const Tensor& labels, float scale,
                      const Tensor& dlogits) {
  const int64_t n = probs.dim(0), c = probs.dim(1), s = probs.dim(2);
  const float* p = probs.data<float>();
  float* d = dlogits.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t i = 0; i < c * s; ++i) d[b * c * s + i] = p[b * c * s + i] * scale;
    for (int64_t j = 0; j < s; ++j) d[(b * c + label_at(labels, b * s + j)) * s + j] -= scale;
  }
}

}  // namespace

RM_REGISTER_KERNELS(SpatialCrossEntropyKernels, cpu, {sce_forward_cpu, sce_backward_cpu});

}  // namespace ringmaster::ops
