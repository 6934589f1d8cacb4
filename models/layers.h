// Layers: thin Modules over the ops (conv, transposed conv, linear,
// activations, pooling, batch norm, local response norm, dropout, flatten)
// and Sequential. Each layer owns its
// parameters, initialised from a caller's std::mt19937_64 (He normal for
// conv/linear weights, std = sqrt(2 / fan_in); zero biases). They add no
// math of their own: shapes and numerics are the ops' contracts (ops/*.h).
// Activations may leave a layer in oneDNN's blocked layout; Flatten and
// Linear give plain tensors. Mixed precision: a layer computes in its
// input's dtype; f32 parameters meet an f16 input as f16 copies (ops::cast,
// so their gradients come back f32), BatchNorm keeps f32 statistics. Same
// thread-safety as Module: none.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "models/module.h"
#include "models/random_draws.h"
#include "ops/batch_norm2d.h"
#include "ops/conv2d.h"
#include "ops/conv_transpose2d.h"
#include "ops/lrn.h"
#include "ops/pool2d.h"

namespace ringmaster::models {

// He (Kaiming) normal: a tensor of `shape` with std = sqrt(2 / fan_in).
ops::Tensor he_normal(const ops::Shape& shape, int64_t fan_in, std::mt19937_64& rng);

struct Conv2dOptions {
  int64_t stride = 1;
  int64_t padding = 0;  // the same on all four sides
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  bool fuse_relu = false;  // relu in the same oneDNN pass (identical to Conv2d + ReLU)
};

// weight: (out, in/groups, k, k); bias: (out).
class Conv2d : public Module {
 public:
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, std::mt19937_64& rng,
         Conv2dOptions options = {});
  ops::Tensor forward(const ops::Tensor& x) override;
  const ops::Conv2dParams& params() const { return params_; }

  ops::Tensor weight, bias;  // bias undefined when options.bias is false

 private:
  ops::Conv2dParams params_;
};

struct ConvTranspose2dOptions {
  int64_t stride = 1;
  int64_t padding = 0;         // the same on all four sides
  int64_t output_padding = 0;  // extra bottom/right rows and columns (< stride)
  int64_t groups = 1;
  bool bias = true;
};

// weight: (in, out/groups, k, k) as PyTorch's ConvTranspose2d; bias: (out).
// He-initialised like Conv2d (fan_in = out/groups * k * k); FCN overwrites
// the weights with bilinear_upsampling_weight().
class ConvTranspose2d : public Module {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                  std::mt19937_64& rng, ConvTranspose2dOptions options = {});
  ops::Tensor forward(const ops::Tensor& x) override;
  const ops::ConvTranspose2dParams& params() const { return params_; }

  ops::Tensor weight, bias;  // bias undefined when options.bias is false

 private:
  ops::ConvTranspose2dParams params_;
};

// (channels, channels, k, k) weights that make a stride-s transposed conv
// (k = 2s, padding s/2) upsample each channel on its own by bilinear
// interpolation (FCN's initialisation): w[c][c] = outer(f, f),
// f(u) = 1 - |u - centre| / factor, factor = (k + 1) / 2, centre = factor - 1
// (k odd) or factor - 0.5 (k even); w[c][d] = 0 for c != d.
ops::Tensor bilinear_upsampling_weight(int64_t channels, int64_t kernel_size);

struct LinearOptions {
  bool bias = true;
  bool fuse_relu = false;  // relu in the same pass (identical to Linear + ReLU)
};

// weight: (out, in); bias: (out). A 4-d input is flattened from dim 1.
class Linear : public Module {
 public:
  Linear(int64_t in_features, int64_t out_features, std::mt19937_64& rng,
         LinearOptions options = {});
  ops::Tensor forward(const ops::Tensor& x) override;

  ops::Tensor weight, bias;

 private:
  bool fuse_relu_;
};

class ReLU : public Module {
 public:
  ops::Tensor forward(const ops::Tensor& x) override;
};

struct Pool2dOptions {
  int64_t stride = 0;  // 0: the kernel size (PyTorch's default)
  int64_t padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = false;  // AvgPool2d only
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel_size, Pool2dOptions options = {});
  ops::Tensor forward(const ops::Tensor& x) override;
  const ops::Pool2dParams& params() const { return params_; }

 private:
  ops::Pool2dParams params_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel_size, Pool2dOptions options = {});
  ops::Tensor forward(const ops::Tensor& x) override;
  const ops::Pool2dParams& params() const { return params_; }

 private:
  ops::Pool2dParams params_;
};

// (N, C, H, W) -> (N, C, 1, 1).
class GlobalAvgPool2d : public Module {
 public:
  ops::Tensor forward(const ops::Tensor& x) override;
};

// (N, C, H, W) -> (N, g * g * C, 1, 1): the mean of each cell of a g x g grid
// (cell i spans rows floor(i H / g) .. ceil((i + 1) H / g), as PyTorch's
// adaptive pooling), cells in row-major order, each C channels. Where a
// global pool keeps what is there, this keeps where it is too (NIC's
// `image_grid`). H and W must be >= g.
class GridAvgPool2d : public Module {
 public:
  explicit GridAvgPool2d(int64_t grid);
  ops::Tensor forward(const ops::Tensor& x) override;

 private:
  int64_t grid_;
};

// Local response normalisation across channels (ops/lrn.h); no parameters.
class LocalResponseNorm : public Module {
 public:
  explicit LocalResponseNorm(int64_t size, double alpha = 1e-4, double beta = 0.75, double k = 1.0);
  ops::Tensor forward(const ops::Tensor& x) override;

 private:
  ops::LrnParams params_;
};

// Parameters weight (C) = 1, bias (C) = 0; buffers running_mean (C) = 0,
// running_var (C) = 1 and num_batches_tracked (i64, shape ()) as PyTorch
// names them. Batch statistics in training, running ones in eval.
class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1);
  ops::Tensor forward(const ops::Tensor& x) override;

  ops::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  ops::BatchNormParams params_;
};

// Inverted dropout with probability p (identity in eval). Its base seed is
// drawn from rng at construction, so a model built from the same seed draws
// the same masks. Each training forward uses seed draw_seed(base, call) and
// then advances `call`, so masks differ from step to step; eval calls do not
// advance it. A resumed run restores `call` with set_calls() to continue the
// same sequence.
class Dropout : public Module, public RandomDraws {
 public:
  Dropout(double p, std::mt19937_64& rng);
  ops::Tensor forward(const ops::Tensor& x) override;
  double p() const { return p_; }
  uint64_t calls() const override { return calls_; }
  void set_calls(uint64_t calls) override { calls_ = calls; }

 private:
  double p_;
  uint64_t base_seed_;
  uint64_t calls_ = 0;
};

// (d0, d1, ..., dn) -> (d0, d1 * ... * dn), plain.
class Flatten : public Module {
 public:
  ops::Tensor forward(const ops::Tensor& x) override;
};

// A child that only holds parameters (embedding.weight, decoder.bias ...)
// for a parent that does the math itself; calling its forward aborts.
class ParameterHolder : public Module {
 public:
  ops::Tensor forward(const ops::Tensor& x) override;
};

// Passes its input through: the stand-in for a layer taken out (a head).
class Identity : public Module {
 public:
  ops::Tensor forward(const ops::Tensor& x) override { return x; }
};

// Runs its children in order. push_back names them "0", "1", ... like
// PyTorch's nn.Sequential; add() gives a name of the caller's choice (then
// parameter names read `conv1.weight` instead of `0.weight`).
class Sequential : public Module {
 public:
  Sequential() = default;
  template <class M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> m) {
    return add(std::to_string(named_children().size()), std::move(m));
  }
  template <class M>
  std::shared_ptr<M> add(const std::string& name, std::shared_ptr<M> m) {
    return register_module(name, std::move(m));
  }
  size_t size() const { return named_children().size(); }
  ops::Tensor forward(const ops::Tensor& x) override;
};

}  // namespace ringmaster::models
