// spatial_cross_entropy: checks, allocation, autograd. Kernels:
// cpu/spatial_cross_entropy_cpu.cpp, cuda/spatial_cross_entropy.cu.
#include "ops/spatial_cross_entropy.h"

#include <algorithm>

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

const SpatialCrossEntropyKernels& kernels(Device d) {
  return KernelTable<SpatialCrossEntropyKernels>::get().on(d, "spatial_cross_entropy");
}

}  // namespace

Tensor spatial_cross_entropy(const Tensor& logits, const Tensor& labels) {
  RM_CHECK(logits.defined() && is_compute_dtype(logits) && logits.ndim() >= 3,
           "spatial_cross_entropy needs f32 (or f16 on a GPU) logits (N, C, d1, ...), got ",
           to_string(logits));
  RM_CHECK(labels.dtype() == DType::i64 || labels.dtype() == DType::i32,
           "spatial_cross_entropy needs i64 or i32 labels, got ", to_string(labels));
  Shape want{logits.dim(0)};
  for (int64_t i = 2; i < logits.ndim(); ++i) want.push_back(logits.dim(static_cast<int>(i)));
  RM_CHECK(labels.shape() == want, "spatial_cross_entropy: labels ", shape_str(labels.shape()),
           " for logits ", shape_str(logits.shape()), "; want ", shape_str(want));
  RM_CHECK(labels.device() == logits.device(), "spatial_cross_entropy: logits on ",
           logits.device().str(), ", labels on ", labels.device().str());
  const int64_t n = logits.dim(0), c = logits.dim(1),
                s = logits.numel() / std::max<int64_t>(n * c, 1);
  RM_CHECK(n > 0 && c > 0 && s > 0, "spatial_cross_entropy: empty logits ",
           shape_str(logits.shape()));
  const Tensor lp = logits.to_plain().reshape({n, c, s});
  const Tensor lb = labels.to_plain().reshape({n, s});
  Tensor probs = Tensor::empty({n, c, s}, DType::f32, logits.device());
  Tensor loss = Tensor::empty({}, DType::f32, logits.device());
  const int64_t bad = kernels(logits.device()).forward(lp, lb, probs, loss);
  RM_THROW_IF(bad >= 0, "spatial_cross_entropy: the label of image ", bad / s, " pixel ", bad % s,
              " is outside [0, ", c, ")");
  if (!needs_grad({&logits})) return loss;
  return record(loss,
                backward_node("SpatialCrossEntropyBackward",
                              [probs, lb, shape = logits.shape(),
                               dtype = logits.dtype()](const Tensor& dy) -> std::vector<Tensor> {
                                const int64_t pixels = probs.dim(0) * probs.dim(2);
                                const float scale = dy.to(Device::cpu()).to_vector()[0] /
                                                    static_cast<float>(pixels);
                                // (N, C, S), in the logits' dtype
                                Tensor d = Tensor::empty(probs.shape(), dtype, probs.device());
                                kernels(probs.device()).backward(probs, lb, scale, d);
                                return {d.reshape(shape), Tensor()};
                              }),
                {logits, labels});
}

}  // namespace ringmaster::ops
