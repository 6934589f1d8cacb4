// linear: device-independent part (shape checks, allocation, autograd).
// Kernels: cpu/linear_cpu.cpp. A fused relu's backward reuses relu's kernels
// to mask dy before the matrix products.
#include "ops/linear.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/relu.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

const LinearKernels& kernels(Device d) { return KernelTable<LinearKernels>::get().on(d, "linear"); }

class LinearBackward : public Node {
 public:
  // x: (N, ...) any layout; w: (out, in); y: (N, out), kept only when relu was fused.
  LinearBackward(Tensor x, Tensor w, bool has_bias, Tensor y)
      : x_(std::move(x)), w_(std::move(w)), has_bias_(has_bias), y_(std::move(y)) {}

  std::vector<Tensor> backward(const Tensor& grad_output) override {
    // dy: (N, out) plain.
    Tensor dy = grad_output.to_plain();
    if (y_.defined()) {
      Tensor masked = empty_like(y_);
      KernelTable<ReluKernels>::get()
          .on(y_.device(), "linear (fused relu)")
          .backward(y_, dy, masked);
      dy = masked;
    }
    const LinearKernels& k = kernels(x_.device());
    Tensor dx, dw, db;
    const bool want_x = inputs[0].requires_grad();
    const bool want_w = inputs[1].requires_grad();
    const bool want_b = has_bias_ && inputs[2].requires_grad();
    if (want_x) {
      dx = empty_like(x_);  // x's shape and layout
      k.backward_data(dy, w_, dx);
    }
    if (want_w || want_b) {
      dw = Tensor::empty(w_.shape(), w_.dtype(), w_.device());
      if (has_bias_) db = Tensor::empty({w_.dim(0)}, w_.dtype(), w_.device());
      k.backward_weights(x_, dy, dw, db);
    }
    return {want_x ? dx : Tensor(), want_w ? dw : Tensor(), want_b ? db : Tensor()};
  }
  const char* name() const override { return "LinearBackward"; }

 private:
  Tensor x_, w_;
  bool has_bias_;
  Tensor y_;
};

}  // namespace

Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, bool fuse_relu) {
  RM_CHECK(is_compute_dtype(x) && w.dtype() == x.dtype(),
           "linear needs f32 (or f16 on a GPU) x and w of one dtype, got x ", to_string(x), ", w ",
           to_string(w));
  RM_CHECK(x.ndim() >= 2 && x.ndim() <= 5, "linear needs x (N, in) or (N, C, [D,] H, W), got ",
           to_string(x));
  RM_CHECK(w.ndim() == 2 && w.is_plain(), "linear needs a plain weight (out, in), got ",
           to_string(w));
  const int64_t in = x.numel() / x.dim(0);
  RM_CHECK(w.dim(1) == in, "linear: x ", shape_str(x.shape()), " has ", in,
           " features per sample, weight ", shape_str(w.shape()), " expects ", w.dim(1));
  RM_CHECK(w.device() == x.device(), "linear: x on ", x.device().str(), ", w on ",
           w.device().str());
  if (b.defined()) {
    RM_CHECK(b.dtype() == x.dtype() && b.is_plain() && b.shape() == Shape{w.dim(0)},
             "linear: bias must be plain ", dtype_name(x.dtype()), " (", w.dim(0), "), got ",
             to_string(b));
    RM_CHECK(b.device() == x.device(), "linear: bias on ", b.device().str());
  }
  // y: (N, out) plain.
  Tensor y = Tensor::empty({x.dim(0), w.dim(0)}, x.dtype(), x.device());
  kernels(x.device()).forward(x, w, b, fuse_relu, y);
  if (!needs_grad({&x, &w, &b})) return y;
  auto node = std::make_shared<LinearBackward>(x.detach(), w.detach(), b.defined(),
                                               fuse_relu ? y.detach() : Tensor());
  return record(y, std::move(node), {x, w, b});
}

}  // namespace ringmaster::ops
