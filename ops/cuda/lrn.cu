// local_response_norm CUDA kernels, our own (cuDNN's LRN caps the window at
// 16 channels): one thread per element sums x^2 over its clipped channel
// window in f32; training keeps that sum's denominator s = k + alpha/size *
// sum (N, C, H, W) in f32 for the backward,
//   dx[c] = dy[c] s[c]^-beta - 2 alpha beta / size * x[c] * sum_{q in window(c)} dy[q] x[q]
//   s[q]^(-beta-1)
// (the window is symmetric, so c is in window(q) exactly when q is in
// window(c)). f32 or f16 storage, f32 arithmetic; plain tensors only.
#include <memory>

#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/cuda/plane_index.cuh"
#include "ops/kernel_registry.h"
#include "ops/lrn.h"

namespace ringmaster::ops {
namespace {

using cuda::load;
using cuda::store;

// The element's channel window [q0, q1] and the offset of its (n, 0, h, w).
struct Window {
  int64_t base, q0, q1;
};

__device__ __forceinline__ Window window_of(int64_t i, int64_t c, int64_t hw, int64_t half) {
  const auto [n, ch, pix] = cuda::plane_index(i, c, hw);
  return {n * c * hw + pix, ch - half < 0 ? 0 : ch - half, ch + half > c - 1 ? c - 1 : ch + half};
}

// y (N, C, H, W) = x / s^beta; s (same shape, f32) kept when not null.
template <class T>
__global__ void lrn_fwd(const T* x, T* y, float* s_out, int64_t total, int64_t c, int64_t hw,
                        int64_t half, float alpha_over_size, float beta, float k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const Window win = window_of(i, c, hw, half);
    float sum = 0.0f;
    for (int64_t q = win.q0; q <= win.q1; ++q) {
      const float v = load(x[win.base + q * hw]);
      sum += v * v;
    }
    const float s = k + alpha_over_size * sum;
    if (s_out != nullptr) s_out[i] = s;
    y[i] = store<T>(load(x[i]) * powf(s, -beta));
  }
}

// dx (N, C, H, W) from x, dy and the forward's s.
template <class T>
__global__ void lrn_bwd(const T* x, const T* dy, const float* s, T* dx, int64_t total, int64_t c,
                        int64_t hw, int64_t half, float two_alpha_beta_over_size, float beta) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(blockDim.x) * gridDim.x) {
    const Window win = window_of(i, c, hw, half);
    float acc = 0.0f;
    for (int64_t q = win.q0; q <= win.q1; ++q) {
      const int64_t j = win.base + q * hw;
      acc += load(dy[j]) * load(x[j]) * powf(s[j], -beta - 1.0f);
    }
    dx[i] = store<T>(load(dy[i]) * powf(s[i], -beta) - two_alpha_beta_over_size * load(x[i]) * acc);
  }
}

struct CudaLrnSaved : LrnSaved {
  LrnParams p;
  Tensor x;  // (N, C, H, W)
  Tensor s;  // (N, C, H, W) f32: k + alpha/size * window sum of x^2
};

Tensor lrn_forward_cuda(const Tensor& x, const LrnParams& p, std::shared_ptr<LrnSaved>* saved) {
  const int64_t total = x.numel();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor s = saved != nullptr ? Tensor::empty(x.shape(), DType::f32, x.device()) : Tensor();
  if (total > 0) {
    cuda::set_device(x.device().index);
    cuda::dispatch_float(x.dtype(), [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      lrn_fwd<T><<<cuda::blocks_for(total), 256>>>(
          static_cast<const T*>(x.raw()), static_cast<T*>(y.raw()),
          s.defined() ? static_cast<float*>(s.raw()) : nullptr, total, x.dim(1),
          x.dim(2) * x.dim(3), (p.size - 1) / 2, p.alpha / static_cast<float>(p.size), p.beta, p.k);
    });
    CUDA_CHECK_LAUNCH();
  }
  if (saved != nullptr) {
    auto sv = std::make_shared<CudaLrnSaved>();
    sv->p = p;
    sv->x = x.detach();
    sv->s = std::move(s);
    *saved = std::move(sv);
  }
  return y;
}

Tensor lrn_backward_cuda(const LrnSaved& saved, const Tensor& dy) {
  const auto& sv = static_cast<const CudaLrnSaved&>(saved);
  const Tensor& x = sv.x;
  const int64_t total = x.numel();
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (total == 0) return dx;
  const Tensor g = dy.to_plain();  // (N, C, H, W)
  cuda::set_device(x.device().index);
  cuda::dispatch_float(x.dtype(), [&](auto tag) {
    using T = cuda::elem_t<decltype(tag)>;
    lrn_bwd<T><<<cuda::blocks_for(total), 256>>>(
        static_cast<const T*>(x.raw()), static_cast<const T*>(g.raw()),
        static_cast<const float*>(sv.s.raw()), static_cast<T*>(dx.raw()), total, x.dim(1),
        x.dim(2) * x.dim(3), (sv.p.size - 1) / 2,
        2.0f * sv.p.alpha * sv.p.beta / static_cast<float>(sv.p.size), sv.p.beta);
  });
  CUDA_CHECK_LAUNCH();
  return dx;
}

}  // namespace

RM_REGISTER_KERNELS(LrnKernels, cuda, {lrn_forward_cuda, lrn_backward_cuda});

}  // namespace ringmaster::ops
