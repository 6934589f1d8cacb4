// softmax CPU kernels: oneDNN softmax forward/backward on plain tensors,
// primitives cached per (shape, axis); the fused cross-entropy is a plain
// loop per row (max-subtracted, sums in double). No blocked layouts here.
#include <cmath>
#include <unordered_map>
#include <vector>

#include "ops/cpu/memory_format.h"
#include "ops/cpu/primitive_cache.h"
#include "ops/kernel_registry.h"
#include "ops/softmax.h"

namespace ringmaster::ops {
namespace {

using dnnl::memory;
using SmFwd = dnnl::softmax_forward;
using SmBwd = dnnl::softmax_backward;

struct FwdEntry {
  SmFwd::primitive_desc pd;
  SmFwd prim;
};
struct BwdEntry {
  SmBwd::primitive_desc pd;
  SmBwd prim;
};

SmFwd::primitive_desc make_fwd_pd(const memory::desc& d, int axis) {
  return SmFwd::primitive_desc(SmFwd::desc(dnnl::prop_kind::forward_training, d, axis),
                               cpu::engine());
}

cpu::CacheKey key_for(const memory::desc& d, int axis) {
  cpu::CacheKey key;
  key.add(d).add(axis);
  return key;
}

void execute(const dnnl::primitive& p, const std::unordered_map<int, memory>& args) {
  p.execute(cpu::stream(), args);
  cpu::stream().wait();
}

void softmax_forward_cpu(const Tensor& x, int axis, const Tensor& y) {
  static cpu::PrimitiveCache<FwdEntry> cache;
  const memory::desc d = cpu::desc_of(x);
  auto e = cache.get(key_for(d, axis), [&] {
    SmFwd::primitive_desc pd = make_fwd_pd(d, axis);
    return FwdEntry{pd, SmFwd(pd)};
  });
  execute(e->prim, {{DNNL_ARG_SRC, cpu::memory_of(x)}, {DNNL_ARG_DST, cpu::memory_of(y)}});
}

void softmax_backward_cpu(const Tensor& y, const Tensor& dy, int axis, const Tensor& dx) {
  static cpu::PrimitiveCache<BwdEntry> cache;
  const memory::desc d = cpu::desc_of(y);
  auto e = cache.get(key_for(d, axis), [&] {
    SmBwd::primitive_desc pd(SmBwd::desc(d, d, axis), cpu::engine(), make_fwd_pd(d, axis));
    return BwdEntry{pd, SmBwd(pd)};
  });
  execute(e->prim, {{DNNL_ARG_DST, cpu::memory_of(y)},
                    {DNNL_ARG_DIFF_DST, cpu::memory_of(dy)},
                    {DNNL_ARG_DIFF_SRC, cpu::memory_of(dx)}});
}

// labels (N) as i64, whatever their stored type.
int64_t label_at(const Tensor& labels, int64_t i) {
  if (labels.dtype() == DType::i64) return labels.data<int64_t>()[i];
  return labels.data<int32_t>()[i];
}

int64_t cross_entropy_forward_cpu(const Tensor& logits, const Tensor& labels, const Tensor& probs,
                                  const Tensor& loss) {
  const int64_t n = logits.dim(0), c = logits.dim(1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t l = label_at(labels, i);
    if (l < 0 || l >= c) return i;
  }
  const float* x = logits.data<float>();  // (N, C)
  float* p = probs.data<float>();         // (N, C)
  std::vector<double> row_loss(static_cast<size_t>(n));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float* xi = x + i * c;
    float* pi = p + i * c;
    float mx = xi[0];
    for (int64_t j = 1; j < c; ++j) mx = xi[j] > mx ? xi[j] : mx;
    double sum = 0.0;
    for (int64_t j = 0; j < c; ++j) {
      pi[j] = std::exp(xi[j] - mx);
      sum += pi[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < c; ++j) pi[j] *= inv;
    // -log softmax[label] = log(sum) - (x[label] - max)
    row_loss[static_cast<size_t>(i)] = std::log(sum) - (xi[label_at(labels, i)] - mx);
  }
  double total = 0.0;
  for (double v : row_loss) total += v;
  loss.data<float>()[0] = static_cast<float>(total / static_cast<double>(n));
  return -1;
}

void cross_entropy_backward_cpu(const Tensor& probs, const Tensor& labels, const Tensor& dloss,
                                const Tensor& dlogits) {
  const int64_t n = probs.dim(0), c = probs.dim(1);
  const float g = dloss.to_plain().data<float>()[0] / static_cast<float>(n);
  const float* p = probs.data<float>();  // (N, C)
  float* d = dlogits.data<float>();      // (N, C)
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) d[i * c + j] = p[i * c + j] * g;
    d[i * c + label_at(labels, i)] -= g;
  }
}

}  // namespace

RM_REGISTER_KERNELS(SoftmaxKernels, cpu,
                    {softmax_forward_cpu, softmax_backward_cpu, cross_entropy_forward_cpu,
                     cross_entropy_backward_cpu});

}  // namespace ringmaster::ops
