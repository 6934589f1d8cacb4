// Layer modules (see layers.h): parameter registration and initialisation,
// then a call into the op. No kernels here.
#include "models/layers.h"

#include <cmath>
#include <vector>

#include "ops/cast.h"
#include "ops/concat.h"
#include "ops/device_memory.h"
#include "ops/dropout.h"
#include "ops/linear.h"
#include "ops/relu.h"
#include "ops/reshape.h"
#include "ops/slice.h"

namespace ringmaster::models {

namespace {

ops::Pool2dParams pool_params(int64_t kernel, const Pool2dOptions& o) {
  RM_CHECK(kernel > 0 && o.stride >= 0 && o.padding >= 0, "pool kernel ", kernel, " stride ",
           o.stride, " padding ", o.padding);
  ops::Pool2dParams p;
  const int64_t stride = o.stride == 0 ? kernel : o.stride;
  p.kernel = {kernel, kernel};
  p.stride = {stride, stride};
  p.padding_begin = {o.padding, o.padding};
  p.padding_end = {o.padding, o.padding};
  p.ceil_mode = o.ceil_mode;
  p.count_include_pad = o.count_include_pad;
  return p;
}

// A parameter in the dtype x computes in: itself, or (mixed precision) an f16
// copy whose gradient autograd casts back to f32 for the parameter.
ops::Tensor in_dtype_of(const ops::Tensor& p, const ops::Tensor& x) {
  return p.defined() && p.dtype() != x.dtype() ? ops::cast(p, x.dtype()) : p;
}

}  // namespace

ops::Tensor he_normal(const ops::Shape& shape, int64_t fan_in, std::mt19937_64& rng) {
  RM_CHECK(fan_in > 0, "fan_in ", fan_in);
  return ops::Tensor::randn(shape, rng, static_cast<float>(std::sqrt(2.0 / fan_in)));
}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, std::mt19937_64& rng,
               Conv2dOptions o) {
  RM_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0 && o.groups > 0 &&
               in_channels % o.groups == 0 && out_channels % o.groups == 0,
           "conv in ", in_channels, " out ", out_channels, " kernel ", kernel_size, " groups ",
           o.groups);
  RM_CHECK(o.stride > 0 && o.padding >= 0 && o.dilation > 0, "conv stride ", o.stride, " padding ",
           o.padding, " dilation ", o.dilation);
  params_ = ops::Conv2dParams::same_padding(o.padding, o.stride);
  params_.dilation = {o.dilation, o.dilation};
  params_.groups = o.groups;
  params_.fuse_relu = o.fuse_relu;
  const int64_t cin = in_channels / o.groups;
  weight = register_parameter("weight", he_normal({out_channels, cin, kernel_size, kernel_size},
                                                  cin * kernel_size * kernel_size, rng));
  if (o.bias) bias = register_parameter("bias", ops::Tensor::zeros({out_channels}));
}

ops::Tensor Conv2d::forward(const ops::Tensor& x) {
  return ops::conv2d(x, in_dtype_of(weight, x), in_dtype_of(bias, x), params_);
}

ConvTranspose2d::ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                                 std::mt19937_64& rng, ConvTranspose2dOptions o) {
  RM_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0 && o.groups > 0 &&
               in_channels % o.groups == 0 && out_channels % o.groups == 0,
           "conv_transpose in ", in_channels, " out ", out_channels, " kernel ", kernel_size,
           " groups ", o.groups);
  RM_CHECK(o.stride > 0 && o.padding >= 0 && o.output_padding >= 0 && o.output_padding < o.stride,
           "conv_transpose stride ", o.stride, " padding ", o.padding, " output_padding ",
           o.output_padding);
  params_ = ops::ConvTranspose2dParams::symmetric(o.stride, o.padding, o.output_padding);
  params_.groups = o.groups;
  const int64_t cout = out_channels / o.groups;
  weight = register_parameter("weight", he_normal({in_channels, cout, kernel_size, kernel_size},
                                                  cout * kernel_size * kernel_size, rng));
  if (o.bias) bias = register_parameter("bias", ops::Tensor::zeros({out_channels}));
}

ops::Tensor ConvTranspose2d::forward(const ops::Tensor& x) {
  return ops::conv_transpose2d(x, weight, bias, params_);
}

ops::Tensor bilinear_upsampling_weight(int64_t channels, int64_t kernel_size) {
  RM_CHECK(channels > 0 && kernel_size > 0, "bilinear weight channels ", channels, " kernel ",
           kernel_size);
  const int64_t factor = (kernel_size + 1) / 2;
  const double centre = kernel_size % 2 == 1 ? factor - 1.0 : factor - 0.5;
  std::vector<double> f(static_cast<size_t>(kernel_size));
  for (int64_t u = 0; u < kernel_size; ++u) {
    f[static_cast<size_t>(u)] = 1.0 - std::fabs(static_cast<double>(u) - centre) / factor;
  }
  ops::Tensor w = ops::Tensor::zeros({channels, channels, kernel_size, kernel_size});
  float* d = w.data<float>();  // (C, C, K, K)
  for (int64_t c = 0; c < channels; ++c) {
    float* plane = d + (c * channels + c) * kernel_size * kernel_size;
    for (int64_t u = 0; u < kernel_size; ++u) {
      for (int64_t v = 0; v < kernel_size; ++v) {
        plane[u * kernel_size + v] =
            static_cast<float>(f[static_cast<size_t>(u)] * f[static_cast<size_t>(v)]);
      }
    }
  }
  return w;
}

Linear::Linear(int64_t in_features, int64_t out_features, std::mt19937_64& rng, LinearOptions o)
    : fuse_relu_(o.fuse_relu) {
  RM_CHECK(in_features > 0 && out_features > 0, "linear in ", in_features, " out ", out_features);
  weight = register_parameter("weight", he_normal({out_features, in_features}, in_features, rng));
  if (o.bias) bias = register_parameter("bias", ops::Tensor::zeros({out_features}));
}

ops::Tensor Linear::forward(const ops::Tensor& x) {
  return ops::linear(x, in_dtype_of(weight, x), in_dtype_of(bias, x), fuse_relu_);
}

ops::Tensor ReLU::forward(const ops::Tensor& x) { return ops::relu(x); }

MaxPool2d::MaxPool2d(int64_t kernel_size, Pool2dOptions o) : params_(pool_params(kernel_size, o)) {}
ops::Tensor MaxPool2d::forward(const ops::Tensor& x) { return ops::max_pool2d(x, params_); }

AvgPool2d::AvgPool2d(int64_t kernel_size, Pool2dOptions o) : params_(pool_params(kernel_size, o)) {}
ops::Tensor AvgPool2d::forward(const ops::Tensor& x) { return ops::avg_pool2d(x, params_); }

ops::Tensor GlobalAvgPool2d::forward(const ops::Tensor& x) { return ops::global_avg_pool2d(x); }

GridAvgPool2d::GridAvgPool2d(int64_t grid) : grid_(grid) {
  RM_CHECK(grid >= 1, "grid pool: grid ", grid);
}

ops::Tensor GridAvgPool2d::forward(const ops::Tensor& x) {
  RM_THROW_IF(x.ndim() != 4 || x.dim(2) < grid_ || x.dim(3) < grid_, "grid pool: ", grid_, "x",
              grid_, " cells need an (N, C, H, W) input with H, W >= ", grid_, ", got ",
              ops::shape_str(x.shape()));
  if (grid_ == 1) return ops::global_avg_pool2d(x);
  const int64_t h = x.dim(2), w = x.dim(3);
  const auto begin = [&](int64_t i, int64_t n) { return i * n / grid_; };
  const auto end = [&](int64_t i, int64_t n) { return ((i + 1) * n + grid_ - 1) / grid_; };
  std::vector<ops::Tensor> cells;
  for (int64_t i = 0; i < grid_; ++i)
    for (int64_t j = 0; j < grid_; ++j)
      cells.push_back(ops::global_avg_pool2d(ops::crop2d(
          x, begin(i, h), begin(j, w), end(i, h) - begin(i, h), end(j, w) - begin(j, w))));
  return ops::concat(cells, 1);
}

LocalResponseNorm::LocalResponseNorm(int64_t size, double alpha, double beta, double k) {
  RM_CHECK(size > 0 && size % 2 == 1 && alpha >= 0 && beta >= 0 && k > 0, "lrn size ", size,
           " alpha ", alpha, " beta ", beta, " k ", k);
  params_ = {size, static_cast<float>(alpha), static_cast<float>(beta), static_cast<float>(k)};
}

ops::Tensor LocalResponseNorm::forward(const ops::Tensor& x) {
  return ops::local_response_norm(x, params_);
}

BatchNorm2d::BatchNorm2d(int64_t num_features, double eps, double momentum) {
  RM_CHECK(num_features > 0 && eps > 0 && momentum >= 0 && momentum <= 1, "batch norm features ",
           num_features, " eps ", eps, " momentum ", momentum);
  params_.eps = static_cast<float>(eps);
  params_.momentum = static_cast<float>(momentum);
  weight = register_parameter("weight", ops::Tensor::full({num_features}, 1.0f));
  bias = register_parameter("bias", ops::Tensor::zeros({num_features}));
  running_mean = register_buffer("running_mean", ops::Tensor::zeros({num_features}));
  running_var = register_buffer("running_var", ops::Tensor::full({num_features}, 1.0f));
  num_batches_tracked =
      register_buffer("num_batches_tracked", ops::Tensor::zeros({}, ops::DType::i64));
}

ops::Tensor BatchNorm2d::forward(const ops::Tensor& x) {
  ops::BatchNormParams p = params_;
  p.training = is_training();
  if (p.training) {
    if (num_batches_tracked.device().is_cpu()) {
      ++num_batches_tracked.data<int64_t>()[0];
    } else {  // one 8-byte round trip per step on a GPU
      ops::Tensor host = num_batches_tracked.to(ops::Device::cpu());
      ++host.data<int64_t>()[0];
      ops::device_copy(num_batches_tracked.raw(), num_batches_tracked.device(), host.raw(),
                       ops::Device::cpu(), sizeof(int64_t));
    }
  }
  return ops::batch_norm2d(x, weight, bias, running_mean, running_var, p);
}

Dropout::Dropout(double p, std::mt19937_64& rng) : p_(p), base_seed_(rng()) {
  RM_CHECK(p >= 0.0 && p < 1.0, "dropout p ", p, " not in [0, 1)");
}

ops::Tensor Dropout::forward(const ops::Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  const uint64_t seed = draw_seed(base_seed_, calls_++);
  return ops::dropout(x, static_cast<float>(p_), true, seed);
}

ops::Tensor Flatten::forward(const ops::Tensor& x) { return ops::flatten(x, 1); }

ops::Tensor ParameterHolder::forward(const ops::Tensor& x) {
  RM_CHECK(false, "a parameter holder has no forward (called with ", ops::to_string(x), ")");
  return {};
}

ops::Tensor Sequential::forward(const ops::Tensor& x) {
  ops::Tensor y = x;
  for (const auto& [name, m] : named_children()) y = m->forward(y);
  return y;
}

}  // namespace ringmaster::models
