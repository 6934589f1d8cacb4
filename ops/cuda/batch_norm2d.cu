// batch_norm2d CUDA kernels. cuDNN (spatial mode) for the training forward,
// the training backward and the eval forward; our own kernels for what cuDNN
// has no call for: the eval-mode backward (statistics are constants), the
// running-statistics update (PyTorch's unbiased variance, in double like the
// CPU) and the conversion between cuDNN's saved 1/sqrt(var + eps) and the
// biased variance our kernel interface passes around. x plain (N, C, H, W),
// f32 or f16 (the statistics and gamma, beta stay f32, as cuDNN wants).
#include "ops/batch_norm2d.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

constexpr int kThreads = 256;

using cuda::load;
using cuda::store;

// var[c] = 1 / invstd[c]^2 - eps (biased batch variance), in double.
__global__ void invstd_to_var(const float* invstd, float* var, int64_t c, double eps) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < c;
       i += int64_t(blockDim.x) * gridDim.x) {
    const double s = invstd[i];
    const double v = 1.0 / (s * s) - eps;
    var[i] = static_cast<float>(v > 0.0 ? v : 0.0);
  }
}

// invstd[c] = 1 / sqrt(var[c] + eps), in double.
__global__ void var_to_invstd(const float* var, float* invstd, int64_t c, double eps) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < c;
       i += int64_t(blockDim.x) * gridDim.x)
    invstd[i] = static_cast<float>(1.0 / sqrt(static_cast<double>(var[i]) + eps));
}

// Eval-mode backward, one block per channel: dx = dy * gamma * invstd;
// dgamma = sum(dy * (x - mean) * invstd); dbeta = sum(dy) (sums in double).
template <class T>
__global__ void eval_backward(const T* x, const T* dy, const float* gamma, const float* mean,
                              const float* var, double eps, int64_t n, int64_t c, int64_t hw, T* dx,
                              float* dgamma, float* dbeta) {
  __shared__ double s_dg[kThreads];
  __shared__ double s_db[kThreads];
  const int64_t ch = blockIdx.x;
  const float invstd = static_cast<float>(1.0 / sqrt(static_cast<double>(var[ch]) + eps));
  const float scale = gamma[ch] * invstd;
  const float m = mean[ch];
  double dg = 0.0, db = 0.0;
  for (int64_t i = threadIdx.x; i < n * hw; i += blockDim.x) {
    const int64_t k = ((i / hw) * c + ch) * hw + i % hw;
    const float g = load(dy[k]);
    dx[k] = store<T>(g * scale);
    dg += static_cast<double>(g) * static_cast<double>((load(x[k]) - m) * invstd);
    db += g;
  }
  s_dg[threadIdx.x] = dg;
  s_db[threadIdx.x] = db;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      s_dg[threadIdx.x] += s_dg[threadIdx.x + s];
      s_db[threadIdx.x] += s_db[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    dgamma[ch] = static_cast<float>(s_dg[0]);
    dbeta[ch] = static_cast<float>(s_db[0]);
  }
}

// running = (1 - momentum) * running + momentum * batch, variance unbiased.
__global__ void update_running(const float* bm, const float* bv, int64_t c, double momentum,
                               double unbias, float* rm, float* rv) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < c;
       i += int64_t(blockDim.x) * gridDim.x) {
    rm[i] = static_cast<float>((1.0 - momentum) * rm[i] + momentum * static_cast<double>(bm[i]));
    rv[i] = static_cast<float>((1.0 - momentum) * rv[i] + momentum * unbias * bv[i]);
  }
}

void bn_forward_cuda(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& mean,
                     const Tensor& var, bool training, float eps, const Tensor& y) {
  const Device d = x.device();
  const int64_t c = x.dim(1);
  cudnnHandle_t h = cuda::cudnn(d.index);
  cuda::TensorDesc xd(x.dim(0), c, x.dim(2), x.dim(3), x.dtype());
  cuda::TensorDesc bnd(1, c, 1, 1);  // f32 for f16 x too
  const float one = 1.0f, zero = 0.0f;
  if (!training) {
    CUDNN_CHECK(cudnnBatchNormalizationForwardInference(
        h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd.get(), x.raw(), xd.get(), y.raw(), bnd.get(),
        gamma.raw(), beta.raw(), mean.raw(), var.raw(), static_cast<double>(eps)));
    return;
  }
  // The running statistics are updated by update_running, not by cuDNN (null).
  Tensor invstd = Tensor::empty({c}, DType::f32, d);
  CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
      h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xd.get(), x.raw(), xd.get(), y.raw(), bnd.get(),
      gamma.raw(), beta.raw(), 0.0, nullptr, nullptr, static_cast<double>(eps), mean.raw(),
      invstd.raw()));
  invstd_to_var<<<cuda::blocks_for(c), 256>>>(static_cast<const float*>(invstd.raw()),
                                              static_cast<float*>(var.raw()), c,
                                              static_cast<double>(eps));
  CUDA_CHECK_LAUNCH();
}

void bn_backward_cuda(const Tensor& x, const Tensor& dy, const Tensor& gamma, const Tensor& beta,
                      const Tensor& mean, const Tensor& var, bool training, float eps,
                      const Tensor& dx, const Tensor& dgamma, const Tensor& dbeta) {
  (void)beta;  // y's shift does not reach any gradient
  const Device d = x.device();
  const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  if (!training) {
    cuda::set_device(d.index);
    cuda::dispatch_float(x.dtype(), [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      eval_backward<T><<<static_cast<unsigned>(cuda::to_int(c, "C")), kThreads>>>(
          static_cast<const T*>(x.raw()), static_cast<const T*>(dy.raw()),
          static_cast<const float*>(gamma.raw()), static_cast<const float*>(mean.raw()),
          static_cast<const float*>(var.raw()), static_cast<double>(eps), n, c, hw,
          static_cast<T*>(dx.raw()), static_cast<float*>(dgamma.raw()),
          static_cast<float*>(dbeta.raw()));
    });
    CUDA_CHECK_LAUNCH();
    return;
  }
  cudnnHandle_t h = cuda::cudnn(d.index);
  Tensor invstd = Tensor::empty({c}, DType::f32, d);
  var_to_invstd<<<cuda::blocks_for(c), 256>>>(static_cast<const float*>(var.raw()),
                                              static_cast<float*>(invstd.raw()), c,
                                              static_cast<double>(eps));
  CUDA_CHECK_LAUNCH();
  cuda::TensorDesc xd(n, c, x.dim(2), x.dim(3), x.dtype());
  cuda::TensorDesc bnd(1, c, 1, 1);
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnBatchNormalizationBackward(
      h, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, xd.get(), x.raw(), xd.get(), dy.raw(),
      xd.get(), dx.raw(), bnd.get(), gamma.raw(), dgamma.raw(), dbeta.raw(),
      static_cast<double>(eps), mean.raw(), invstd.raw()));
}

void bn_update_running_cuda(const Tensor& batch_mean, const Tensor& batch_var, int64_t count,
                            float momentum, const Tensor& running_mean, const Tensor& running_var) {
  const int64_t c = batch_mean.numel();
  cuda::set_device(batch_mean.device().index);
  const double unbias = static_cast<double>(count) / static_cast<double>(count - 1);
  update_running<<<cuda::blocks_for(c), 256>>>(
      static_cast<const float*>(batch_mean.raw()), static_cast<const float*>(batch_var.raw()), c,
      static_cast<double>(momentum), unbias, static_cast<float*>(running_mean.raw()),
      static_cast<float*>(running_var.raw()));
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(BatchNormKernels, cuda,
                    {bn_forward_cuda, bn_backward_cuda, bn_update_running_cuda});

}  // namespace ringmaster::ops
