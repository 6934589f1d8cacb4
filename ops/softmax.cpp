// softmax and softmax_cross_entropy: device-independent part (checks,
// allocation, autograd). Kernels: cpu/softmax_cpu.cpp. Labels get no gradient.
#include "ops/softmax.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

const SoftmaxKernels& kernels(Device d) {
  return KernelTable<SoftmaxKernels>::get().on(d, "softmax");
}

}  // namespace

Tensor softmax(const Tensor& x, int axis) {
  RM_CHECK(x.dtype() == DType::f32 && x.ndim() >= 1,
           "softmax needs f32 with at least one dim, got ", to_string(x));
  const int n = static_cast<int>(x.ndim());
  const int a = axis < 0 ? axis + n : axis;
  RM_CHECK(a >= 0 && a < n, "softmax axis ", axis, " out of range for ", to_string(x));
  Tensor xp = x.to_plain();
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  kernels(x.device()).forward(xp, a, y);
  if (!needs_grad({&x})) return y;
  return record(y,
                backward_node("SoftmaxBackward",
                              [y = y.detach(), a](const Tensor& dy) -> std::vector<Tensor> {
                                // y: the softmax output, plain, any shape.
                                Tensor dx = Tensor::empty(y.shape(), DType::f32, y.device());
                                kernels(y.device()).backward(y, dy.to_plain(), a, dx);
                                return {dx};
                              }),
                {x});
}

Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& labels) {
  RM_CHECK(logits.dtype() == DType::f32 && logits.ndim() == 2,
           "softmax_cross_entropy needs f32 logits (N, C), got ", to_string(logits));
  RM_CHECK(labels.dtype() == DType::i64 || labels.dtype() == DType::i32,
           "softmax_cross_entropy needs i64 or i32 labels, got ", to_string(labels));
  RM_CHECK(labels.shape() == Shape{logits.dim(0)}, "softmax_cross_entropy: labels ",
           shape_str(labels.shape()), " for logits ", shape_str(logits.shape()), "; want (N)");
  RM_CHECK(labels.device() == logits.device(), "softmax_cross_entropy: logits on ",
           logits.device().str(), ", labels on ", labels.device().str());
  RM_CHECK(logits.dim(0) > 0 && logits.dim(1) > 0, "softmax_cross_entropy: empty logits ",
           shape_str(logits.shape()));
  Tensor probs = Tensor::empty(logits.shape(), DType::f32, logits.device());  // (N, C)
  Tensor loss = Tensor::empty({}, DType::f32, logits.device());               // ()
  Tensor lp = logits.to_plain(), lb = labels.to_plain();
  const int64_t bad = kernels(logits.device()).cross_entropy_forward(lp, lb, probs, loss);
  RM_THROW_IF(bad >= 0, "softmax_cross_entropy: the label of row ", bad, " is outside [0, ",
              logits.dim(1), ")");
  if (!needs_grad({&logits})) return loss;
  return record(
      loss,
      backward_node("SoftmaxCrossEntropyBackward",
                    [probs, lb](const Tensor& dloss) -> std::vector<Tensor> {
                      // probs: (N, C) plain; labels: (N).
                      Tensor dlogits = Tensor::empty(probs.shape(), DType::f32, probs.device());
                      kernels(probs.device()).cross_entropy_backward(probs, lb, dloss, dlogits);
                      return {dlogits, Tensor()};
                    }),
      {logits, labels});
}

}  // namespace ringmaster::ops
