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

class SoftmaxBackward : public Node {
 public:
  // y: the softmax output, plain, any shape.
  SoftmaxBackward(Tensor y, int axis) : y_(std::move(y)), axis_(axis) {}
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = Tensor::empty(y_.shape(), DType::f32, y_.device());
    kernels(y_.device()).backward(y_, dy.to_plain(), axis_, dx);
    return {dx};
  }
  const char* name() const override { return "SoftmaxBackward"; }

 private:
  Tensor y_;
  int axis_;
};

class SoftmaxCrossEntropyBackward : public Node {
 public:
  // probs: (N, C) plain; labels: (N).
  SoftmaxCrossEntropyBackward(Tensor probs, Tensor labels)
      : probs_(std::move(probs)), labels_(std::move(labels)) {}
  std::vector<Tensor> backward(const Tensor& dloss) override {
    Tensor dlogits = Tensor::empty(probs_.shape(), DType::f32, probs_.device());
    kernels(probs_.device()).cross_entropy_backward(probs_, labels_, dloss, dlogits);
    return {dlogits, Tensor()};
  }
  const char* name() const override { return "SoftmaxCrossEntropyBackward"; }

 private:
  Tensor probs_, labels_;
};

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
  return record(y, std::make_shared<SoftmaxBackward>(y.detach(), a), {x});
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
  return record(loss, std::make_shared<SoftmaxCrossEntropyBackward>(probs, lb), {logits, labels});
}

}  // namespace ringmaster::ops
