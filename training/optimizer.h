// Optimizers over named f32 parameters: SGD (momentum, dampening, Nesterov,
// L2 weight decay), Adam (L2) and AdamW (decoupled), each with PyTorch's
// update rule (torch.optim, 1.13), in float through ops/optimizer_update.h
// (a kernel per device). No LR schedule (lr_schedule.h; the caller calls
// set_lr), no gradient clipping, no all-reduce.
//
// Ownership: the optimizer holds handles to the parameter tensors (shared
// storage with the model) and owns its state tensors, kept on each
// parameter's device. A parameter is skipped by step() while its
// requires_grad is off or it has no grad (frozen layers; its state is left
// alone). Parameters and grads must be plain f32, each grad on its
// parameter's device (a blocked grad is made plain). Move the model
// (Module::to) before making the optimizer. Not thread-safe; step() blocks
// until a CPU update is done (CUDA updates are queued on the device).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "models/tensor_map.h"

namespace ringmaster::training {

using models::NamedTensors;
using models::TensorMap;

class Optimizer {
 public:
  Optimizer(NamedTensors params, double lr);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter that has a grad and requires it.
  virtual void step() = 0;
  // Drops every parameter's grad (PyTorch's set_to_none=True); the next
  // backward allocates fresh ones.
  void zero_grad();
  void set_lr(double lr) { lr_ = lr; }
  double lr() const { return lr_; }
  // Number of step() calls so far.
  int64_t steps() const { return steps_; }
  const NamedTensors& params() const { return params_; }
  // The grads step() would use (of parameters that require one), each made
  // plain in place: what loss scaling and clipping rescale before a step.
  std::vector<ops::Tensor> plain_grads() const;

  // Checkpoint state: "step" (i64, shape ()) plus per-parameter tensors named
  // "<kind>.<parameter name>" (see each optimizer). load_state() copies them
  // back; a shape mismatch or an entry naming no parameter throws ops::Error.
  // Parameters without an entry start fresh (as PyTorch's lazy state does).
  virtual TensorMap state() const;
  virtual void load_state(const TensorMap& state);

 protected:
  // The parameters step() updates now, with their (plain) grads.
  struct Active {
    size_t index;  // into params()
    ops::Tensor p, g;
  };
  std::vector<Active> active() const;
  // Exports/imports one per-parameter state tensor family (keyed by index).
  void export_family(const std::string& prefix, const std::map<size_t, ops::Tensor>& family,
                     TensorMap& out) const;
  void import_family(const std::string& prefix, const TensorMap& in,
                     std::map<size_t, ops::Tensor>& family, std::map<std::string, bool>& used);
  // Entries of `in` not marked used throw (called last by load_state).
  static void check_all_used(const TensorMap& in, const std::map<std::string, bool>& used);

  NamedTensors params_;
  double lr_;
  int64_t steps_ = 0;
};

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  double weight_decay = 0.0;  // L2: added to the gradient
};

// torch.optim.SGD: g += wd * p; with momentum: buf = g on the first step,
// else buf = momentum * buf + (1 - dampening) * g; g = nesterov ? g +
// momentum * buf : buf; p -= lr * g. State: "momentum.<name>".
class SGD : public Optimizer {
 public:
  SGD(NamedTensors params, SGDOptions options);  // bad options throw ops::Error
  void step() override;
  TensorMap state() const override;
  void load_state(const TensorMap& state) override;
  const SGDOptions& options() const { return options_; }

 private:
  SGDOptions options_;
  std::map<size_t, ops::Tensor> momentum_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // Adam: L2 on the gradient; AdamW: decoupled
};

// torch.optim.Adam / AdamW (amsgrad off). Per parameter, with t its own step
// count: (Adam) g += wd * p, or (AdamW) p *= 1 - lr * wd; m = b1 m + (1-b1) g;
// v = b2 v + (1-b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t)
// + eps). State: "adam.m.<name>", "adam.v.<name>", "adam.step.<name>" (i64).
class Adam : public Optimizer {
 public:
  Adam(NamedTensors params, AdamOptions options);  // bad options throw ops::Error
  void step() override;
  TensorMap state() const override;
  void load_state(const TensorMap& state) override;
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(NamedTensors params, AdamOptions options, bool decoupled);

 private:
  AdamOptions options_;
  bool decoupled_;
  std::map<size_t, ops::Tensor> m_, v_;
  std::map<size_t, int64_t> t_;
};

// AdamW: Adam with decoupled weight decay (PyTorch's default wd is 0.01).
class AdamW : public Adam {
 public:
  AdamW(NamedTensors params, AdamOptions options);
};

// Builds one from a job spec's optimizer object, e.g. {"type": "sgd", "lr":
// 0.1, "momentum": 0.9, "nesterov": true, "weight_decay": 5e-4} or {"type":
// "adamw", "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay":
// 0.01}. Unknown types or fields and bad values throw ops::Error naming the
// field. Omitted fields take the defaults above (AdamW: weight_decay 0.01).
std::unique_ptr<Optimizer> make_optimizer(const nlohmann::json& spec, NamedTensors params);

}  // namespace ringmaster::training
