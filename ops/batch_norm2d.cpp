// batch_norm2d: device-independent part (checks, allocation, running-stat
// update, autograd). Kernels: cpu/batch_norm2d_cpu.cpp. The running
// statistics are state, not graph inputs: no gradient flows to them.
#include "ops/batch_norm2d.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

const BatchNormKernels& kernels(Device d) {
  return KernelTable<BatchNormKernels>::get().on(d, "batch_norm2d");
}

void check_channel_vector(const Tensor& t, const char* what, const Tensor& x) {
  RM_CHECK(t.defined(), "batch_norm2d: ", what, " is undefined");
  RM_CHECK(t.dtype() == DType::f32 && t.is_plain() && t.shape() == Shape{x.dim(1)},
           "batch_norm2d: ", what, " must be plain f32 (", x.dim(1), ") for x ",
           shape_str(x.shape()), ", got ", to_string(t));
  RM_CHECK(t.device() == x.device(), "batch_norm2d: ", what, " on ", t.device().str(), ", x on ",
           x.device().str());
}

class BatchNormBackward : public Node {
 public:
  // x: (N, C, H, W) any layout; gamma, beta, mean, var: (C), the statistics forward used.
  BatchNormBackward(Tensor x, Tensor gamma, Tensor beta, Tensor mean, Tensor var, bool training,
                    float eps)
      : x_(std::move(x)),
        gamma_(std::move(gamma)),
        beta_(std::move(beta)),
        mean_(std::move(mean)),
        var_(std::move(var)),
        training_(training),
        eps_(eps) {}

  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dy_same = same_layout_as(dy, x_);
    Tensor dx = empty_like(x_);
    const Shape c{x_.dim(1)};
    Tensor dgamma = Tensor::empty(c, DType::f32, x_.device());
    Tensor dbeta = Tensor::empty(c, DType::f32, x_.device());
    kernels(x_.device())
        .backward(x_, dy_same, gamma_, beta_, mean_, var_, training_, eps_, dx, dgamma, dbeta);
    return {inputs[0].requires_grad() ? dx : Tensor(),
            inputs[1].requires_grad() ? dgamma : Tensor(),
            inputs[2].requires_grad() ? dbeta : Tensor()};
  }
  const char* name() const override { return "BatchNormBackward"; }

 private:
  Tensor x_, gamma_, beta_, mean_, var_;
  bool training_;
  float eps_;
};

}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta,
                    const Tensor& running_mean, const Tensor& running_var,
                    const BatchNormParams& p) {
  RM_CHECK(is_compute_dtype(x) && x.ndim() == 4,
           "batch_norm2d needs f32 (or f16 on a GPU) (N, C, H, W), got ", to_string(x));
  check_channel_vector(gamma, "gamma", x);
  check_channel_vector(beta, "beta", x);
  RM_CHECK(p.eps > 0.0f, "batch_norm2d: eps must be positive, got ", p.eps);
  const bool track = running_mean.defined() || running_var.defined();
  if (track || !p.training) {
    check_channel_vector(running_mean, "running_mean", x);
    check_channel_vector(running_var, "running_var", x);
  }
  const int64_t count = x.dim(0) * x.dim(2) * x.dim(3);  // values per channel
  RM_THROW_IF(p.training && count < 2, "batch_norm2d: training needs more than one value per ",
              "channel, got input ", shape_str(x.shape()));

  const BatchNormKernels& k = kernels(x.device());
  const Shape c{x.dim(1)};
  Tensor mean, var;  // (C): the statistics y is normalised with
  if (p.training) {
    mean = Tensor::empty(c, DType::f32, x.device());
    var = Tensor::empty(c, DType::f32, x.device());
  } else {
    // Copies: the caller may update its running statistics before backward.
    const bool keep = needs_grad({&x, &gamma, &beta});
    mean = keep ? running_mean.clone() : running_mean;
    var = keep ? running_var.clone() : running_var;
  }
  Tensor y = empty_like(x);
  k.forward(x, gamma, beta, mean, var, p.training, p.eps, y);
  if (p.training && track) {
    k.update_running(mean, var, count, p.momentum, running_mean, running_var);
  }
  if (!needs_grad({&x, &gamma, &beta})) return y;
  auto node = std::make_shared<BatchNormBackward>(x.detach(), gamma.detach(), beta.detach(), mean,
                                                  var, p.training, p.eps);
  return record(y, std::move(node), {x, gamma, beta});
}

}  // namespace ringmaster::ops
