// resize_bilinear CUDA kernels: the per-axis sampling tables come from the
// host (resize_taps, the ones the CPU uses), copied to the device once per
// call; then one thread per output element blends its four inputs with the
// CPU's float operations (rounded one by one, no FMA contraction). Backward
// scatters each dy element to its four inputs with f32 atomicAdd (into dx
// itself for f32, into an f32 buffer then rounded once for f16), so the sum
// order is not fixed. Plain layouts only.
#include <vector>

#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/cuda/plane_index.cuh"
#include "ops/kernel_registry.h"
#include "ops/resize.h"

namespace ringmaster::ops {
namespace {

using cuda::load;
using cuda::store;

// a + (b - a) * t, each operation rounded as on the CPU.
__device__ __forceinline__ float lerp_rn(float a, float b, float t) {
  return __fadd_rn(a, __fmul_rn(__fsub_rn(b, a), t));
}

// y (P, OH, OW) from x (P, H, W), P = N * C planes.
template <class T>
__global__ void resize_fwd(const T* x, T* y, const ResizeTap* ty, const ResizeTap* tx,
                           int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < planes * oh * ow;
       k += int64_t(blockDim.x) * gridDim.x) {
    const auto [pl, i, j] = cuda::plane_index(k, oh, ow);
    const ResizeTap a = ty[i], b = tx[j];
    const T* r0 = x + (pl * h + a.lo) * w;
    const T* r1 = x + (pl * h + a.hi) * w;
    const float top = lerp_rn(load(r0[b.lo]), load(r0[b.hi]), b.w_hi);
    const float bottom = lerp_rn(load(r1[b.lo]), load(r1[b.hi]), b.w_hi);
    y[k] = store<T>(lerp_rn(top, bottom, a.w_hi));
  }
}

// dx (P, H, W) f32, zeroed, += dy (P, OH, OW) spread with the forward's weights.
template <class T>
__global__ void resize_bwd(const T* dy, float* dx, const ResizeTap* ty, const ResizeTap* tx,
                           int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < planes * oh * ow;
       k += int64_t(blockDim.x) * gridDim.x) {
    const auto [pl, i, j] = cuda::plane_index(k, oh, ow);
    const ResizeTap a = ty[i], b = tx[j];
    const float v = load(dy[k]);
    const float v1 = __fmul_rn(v, a.w_hi), v0 = __fsub_rn(v, v1);  // rows lo, hi
    const float wl = __fsub_rn(1.0f, b.w_hi);
    float* d = dx + pl * h * w;
    atomicAdd(d + a.lo * w + b.lo, __fmul_rn(v0, wl));
    atomicAdd(d + a.lo * w + b.hi, __fmul_rn(v0, b.w_hi));
    atomicAdd(d + a.hi * w + b.lo, __fmul_rn(v1, wl));
    atomicAdd(d + a.hi * w + b.hi, __fmul_rn(v1, b.w_hi));
  }
}

template <class T>
__global__ void round_to(const float* src, T* dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    dst[i] = store<T>(src[i]);
}

// The row and column tables of resizing (H, W) to (OH, OW), on the device:
// OH row taps, then OW column taps.
Tensor device_taps(int64_t h, int64_t w, const ResizeParams& p, Device d) {
  std::vector<ResizeTap> t = resize_taps(h, p.out_h, p.scale_h, p.coordinates);
  const std::vector<ResizeTap> tx = resize_taps(w, p.out_w, p.scale_w, p.coordinates);
  t.insert(t.end(), tx.begin(), tx.end());
  const size_t bytes = t.size() * sizeof(ResizeTap);
  Tensor dev = Tensor::empty({static_cast<int64_t>(bytes)}, DType::u8, d);
  CUDA_CHECK(cudaMemcpy(dev.raw(), t.data(), bytes, cudaMemcpyHostToDevice));
  return dev;
}

void resize_forward_cuda(const Tensor& x, const ResizeParams& p, const Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t total = y.numel();
  if (total == 0) return;
  cuda::set_device(x.device().index);
  const Tensor taps = device_taps(h, w, p, x.device());
  const auto* ty = static_cast<const ResizeTap*>(taps.raw());
  cuda::dispatch_float(x.dtype(), [&](auto tag) {
    using T = cuda::elem_t<decltype(tag)>;
    resize_fwd<T><<<cuda::blocks_for(total), 256>>>(static_cast<const T*>(x.raw()),
                                                    static_cast<T*>(y.raw()), ty, ty + p.out_h,
                                                    planes, h, w, p.out_h, p.out_w);
  });
  CUDA_CHECK_LAUNCH();
}

void resize_backward_cuda(const Tensor& dy, const ResizeParams& p, const Tensor& dx) {
  const int64_t planes = dx.dim(0) * dx.dim(1), h = dx.dim(2), w = dx.dim(3);
  if (dx.numel() == 0) return;
  cuda::set_device(dx.device().index);
  // f32 sums: dx itself, or a buffer rounded to dx's dtype at the end.
  const Tensor acc =
      dx.dtype() == DType::f32 ? dx : Tensor::empty(dx.shape(), DType::f32, dx.device());
  CUDA_CHECK(cudaMemsetAsync(acc.raw(), 0, static_cast<size_t>(acc.numel()) * sizeof(float)));
  const int64_t total = dy.numel();
  if (total > 0) {
    const Tensor taps = device_taps(h, w, p, dx.device());
    const auto* ty = static_cast<const ResizeTap*>(taps.raw());
    cuda::dispatch_float(dy.dtype(), [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      resize_bwd<T><<<cuda::blocks_for(total), 256>>>(static_cast<const T*>(dy.raw()),
                                                      static_cast<float*>(acc.raw()), ty,
                                                      ty + p.out_h, planes, h, w, p.out_h, p.out_w);
    });
    CUDA_CHECK_LAUNCH();
  }
  if (dx.dtype() != DType::f32) {
    cuda::dispatch_float(dx.dtype(), [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      round_to<T><<<cuda::blocks_for(dx.numel()), 256>>>(static_cast<const float*>(acc.raw()),
                                                         static_cast<T*>(dx.raw()), dx.numel());
    });
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace

RM_REGISTER_KERNELS(ResizeKernels, cuda, {resize_forward_cuda, resize_backward_cuda});

}  // namespace ringmaster::ops
