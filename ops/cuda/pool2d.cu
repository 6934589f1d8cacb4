// pool2d CUDA kernels. cuDNN pooling where it computes exactly what the op
// promises: no dilation, symmetric padding and no extra ceil_mode window
// (max, avg include/exclude padding). Everything else (dilation, asymmetric
// padding, ceil_mode's extra end padding, whose windows PyTorch divides by the
// window clipped to the padded input) runs on our own kernels: forward one
// thread per output (max keeps the first arg-max, as oneDNN does), backward a
// gather per input element (deterministic, no atomics). f32 or f16 (own
// kernels compute in float and round once).
#include <algorithm>

#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/cuda/plane_index.cuh"
#include "ops/kernel_registry.h"
#include "ops/pool2d.h"

namespace ringmaster::ops {
namespace {

using cuda::load;
using cuda::store;

// Plain numbers every own kernel needs.
struct Geometry {
  int64_t planes, h, w, oh, ow;
  int64_t kh, kw, sh, sw, ph, pw, peh, pew, dh, dw;  // kernel, stride, pad begin/end, dilation
  bool include_pad;
};

struct CudaPool2dSaved : Pool2dSaved {
  PoolKind kind = PoolKind::max;
  Pool2dParams p;
  Geometry g{};
  bool use_cudnn = false;
  Tensor x, y;    // cuDNN backward reads both
  Tensor argmax;  // own max pool: (N, C, OH, OW) i32, the flat h*W+w index of each max
  Shape x_shape;
};

bool cudnn_fits(const Pool2dParams& p, const Shape& xs, const Shape& ys) {
  for (int i = 0; i < 2; ++i) {
    if (p.dilation[i] != 1 || p.padding_begin[i] != p.padding_end[i]) return false;
    // A window larger than the padded input (ceil mode's one output): ours.
    if (xs[2 + i] + 2 * p.padding_begin[i] < p.kernel[i]) return false;
    const int64_t floor_out =
        (xs[2 + i] + 2 * p.padding_begin[i] - p.kernel[i]) / p.stride[i] + 1;  // cuDNN's size
    if (floor_out != ys[2 + i]) return false;
  }
  return true;
}

struct PoolDesc {
  cudnnPoolingDescriptor_t d = nullptr;
  PoolDesc(PoolKind kind, const Pool2dParams& p) {
    const cudnnPoolingMode_t mode = kind == PoolKind::max ? CUDNN_POOLING_MAX
                                    : p.count_include_pad
                                        ? CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING
                                        : CUDNN_POOLING_AVERAGE_COUNT_EXCLUDE_PADDING;
    CUDNN_CHECK(cudnnCreatePoolingDescriptor(&d));
    CUDNN_CHECK(cudnnSetPooling2dDescriptor(
        d, mode, CUDNN_PROPAGATE_NAN, cuda::to_int(p.kernel[0], "kernel"),
        cuda::to_int(p.kernel[1], "kernel"), cuda::to_int(p.padding_begin[0], "padding"),
        cuda::to_int(p.padding_begin[1], "padding"), cuda::to_int(p.stride[0], "stride"),
        cuda::to_int(p.stride[1], "stride")));
  }
  ~PoolDesc() { cudnnDestroyPoolingDescriptor(d); }
  PoolDesc(const PoolDesc&) = delete;
  PoolDesc& operator=(const PoolDesc&) = delete;
};

__device__ inline int64_t window_end(int64_t start, int64_t k, int64_t limit) {
  return start + k < limit ? start + k : limit;
}

// Average divisor of output (i, j): PyTorch's rule (see pool2d.h).
__device__ inline float avg_divisor(const Geometry& g, int64_t i, int64_t j) {
  const int64_t hs = i * g.sh - g.ph, ws = j * g.sw - g.pw;
  const int64_t he = window_end(hs, g.kh, g.h + g.peh), we = window_end(ws, g.kw, g.w + g.pew);
  if (g.include_pad) return static_cast<float>((he - hs) * (we - ws));
  const int64_t rows = (he < g.h ? he : g.h) - (hs > 0 ? hs : 0);
  const int64_t cols = (we < g.w ? we : g.w) - (ws > 0 ? ws : 0);
  return static_cast<float>(rows * cols);
}

template <class T>
__global__ void max_fwd(const T* x, T* y, int32_t* argmax, Geometry g) {
  const int64_t total = g.planes * g.oh * g.ow;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(blockDim.x) * gridDim.x) {
    const auto [plane, i, j] = cuda::plane_index(k, g.oh, g.ow);
    const T* xp = x + plane * g.h * g.w;
    float best = 0.0f;
    int64_t arg = -1;
    for (int64_t a = 0; a < g.kh; ++a) {
      const int64_t r = i * g.sh - g.ph + a * g.dh;
      if (r < 0 || r >= g.h) continue;
      for (int64_t b = 0; b < g.kw; ++b) {
        const int64_t c = j * g.sw - g.pw + b * g.dw;
        if (c < 0 || c >= g.w) continue;
        const float v = load(xp[r * g.w + c]);
        if (arg < 0 || v > best) {
          best = v;
          arg = r * g.w + c;
        }
      }
    }
    y[k] = store<T>(best);
    if (argmax != nullptr) argmax[k] = static_cast<int32_t>(arg);
  }
}

template <class T>
__global__ void avg_fwd(const T* x, T* y, Geometry g) {
  const int64_t total = g.planes * g.oh * g.ow;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(blockDim.x) * gridDim.x) {
    const auto [plane, i, j] = cuda::plane_index(k, g.oh, g.ow);
    const T* xp = x + plane * g.h * g.w;
    const int64_t hs = i * g.sh - g.ph, ws = j * g.sw - g.pw;
    const int64_t r0 = hs > 0 ? hs : 0, c0 = ws > 0 ? ws : 0;
    const int64_t r1 = window_end(hs, g.kh, g.h), c1 = window_end(ws, g.kw, g.w);
    float s = 0.0f;
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = c0; c < c1; ++c) s += load(xp[r * g.w + c]);
    y[k] = store<T>(s / avg_divisor(g, i, j));
  }
}

// Output rows i whose window (start i*s - p, taps every d for k) may hold row r.
__device__ inline void candidates(int64_t r, int64_t k, int64_t s, int64_t p, int64_t d,
                                  int64_t out, int64_t& lo, int64_t& hi) {
  const int64_t first = r + p - (k - 1) * d;  // lowest start that still reaches r
  lo = first <= 0 ? 0 : (first + s - 1) / s;
  hi = (r + p) / s;
  if (hi > out - 1) hi = out - 1;
}

template <class T>
__global__ void max_bwd(const T* dy, const int32_t* argmax, T* dx, Geometry g) {
  const int64_t total = g.planes * g.h * g.w;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(blockDim.x) * gridDim.x) {
    const auto [plane, r, c] = cuda::plane_index(k, g.h, g.w);
    int64_t i0, i1, j0, j1;
    candidates(r, g.kh, g.sh, g.ph, g.dh, g.oh, i0, i1);
    candidates(c, g.kw, g.sw, g.pw, g.dw, g.ow, j0, j1);
    const int32_t self = static_cast<int32_t>(r * g.w + c);
    const int64_t base = plane * g.oh * g.ow;
    float acc = 0.0f;
    for (int64_t i = i0; i <= i1; ++i)
      for (int64_t j = j0; j <= j1; ++j)
        if (argmax[base + i * g.ow + j] == self) acc += load(dy[base + i * g.ow + j]);
    dx[k] = store<T>(acc);
  }
}

template <class T>
__global__ void avg_bwd(const T* dy, T* dx, Geometry g) {
  const int64_t total = g.planes * g.h * g.w;
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < total;
       k += int64_t(blockDim.x) * gridDim.x) {
    const auto [plane, r, c] = cuda::plane_index(k, g.h, g.w);
    int64_t i0, i1, j0, j1;
    candidates(r, g.kh, g.sh, g.ph, 1, g.oh, i0, i1);
    candidates(c, g.kw, g.sw, g.pw, 1, g.ow, j0, j1);
    const int64_t base = plane * g.oh * g.ow;
    float acc = 0.0f;
    for (int64_t i = i0; i <= i1; ++i)
      for (int64_t j = j0; j <= j1; ++j)
        acc += load(dy[base + i * g.ow + j]) / avg_divisor(g, i, j);
    dx[k] = store<T>(acc);
  }
}

Geometry geometry(const Shape& xs, const Shape& ys, const Pool2dParams& p) {
  Geometry g{};
  g.planes = xs[0] * xs[1];
  g.h = xs[2];
  g.w = xs[3];
  g.oh = ys[2];
  g.ow = ys[3];
  g.kh = p.kernel[0];
  g.kw = p.kernel[1];
  g.sh = p.stride[0];
  g.sw = p.stride[1];
  g.ph = p.padding_begin[0];
  g.pw = p.padding_begin[1];
  g.peh = p.padding_end[0];
  g.pew = p.padding_end[1];
  g.dh = p.dilation[0];
  g.dw = p.dilation[1];
  g.include_pad = p.count_include_pad;
  return g;
}

Tensor pool2d_forward_cuda(const Tensor& x, PoolKind kind, const Pool2dParams& p,
                           const Shape& y_shape, std::shared_ptr<Pool2dSaved>* saved) {
  const Device d = x.device();
  cuda::set_device(d.index);
  const DType t = x.dtype();
  Tensor y = Tensor::empty(y_shape, t, d);
  auto s = std::make_shared<CudaPool2dSaved>();
  s->kind = kind;
  s->p = p;
  s->g = geometry(x.shape(), y_shape, p);
  s->use_cudnn = cudnn_fits(p, x.shape(), y_shape);
  s->x_shape = x.shape();
  if (y.numel() > 0 && s->use_cudnn) {
    PoolDesc pd(kind, p);
    cuda::TensorDesc xd(x.dim(0), x.dim(1), x.dim(2), x.dim(3), t);
    cuda::TensorDesc yd(y_shape[0], y_shape[1], y_shape[2], y_shape[3], t);
    const float one = 1.0f, zero = 0.0f;
    CUDNN_CHECK(cudnnPoolingForward(cuda::cudnn(d.index), pd.d, &one, xd.get(), x.raw(), &zero,
                                    yd.get(), y.raw()));
    if (saved != nullptr) {
      s->x = x.detach();
      s->y = y.detach();
    }
  } else if (y.numel() > 0 && kind == PoolKind::max) {
    if (saved != nullptr) s->argmax = Tensor::empty(y_shape, DType::i32, d);
    cuda::dispatch_float(t, [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      max_fwd<T><<<cuda::blocks_for(y.numel()), 256>>>(
          static_cast<const T*>(x.raw()), static_cast<T*>(y.raw()),
          saved != nullptr ? static_cast<int32_t*>(s->argmax.raw()) : nullptr, s->g);
    });
    CUDA_CHECK_LAUNCH();
  } else if (y.numel() > 0) {
    cuda::dispatch_float(t, [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      avg_fwd<T><<<cuda::blocks_for(y.numel()), 256>>>(static_cast<const T*>(x.raw()),
                                                       static_cast<T*>(y.raw()), s->g);
    });
    CUDA_CHECK_LAUNCH();
  }
  if (saved != nullptr) *saved = std::move(s);
  return y;
}

Tensor pool2d_backward_cuda(const Pool2dSaved& saved, const Tensor& dy) {
  const auto& s = static_cast<const CudaPool2dSaved&>(saved);
  const Device d = dy.device();
  cuda::set_device(d.index);
  const DType t = dy.dtype();
  Tensor dx = Tensor::empty(s.x_shape, t, d);
  if (dx.numel() == 0) return dx;
  if (s.use_cudnn) {
    PoolDesc pd(s.kind, s.p);
    const Shape& xs = s.x_shape;
    const Shape& ys = s.y.shape();
    cuda::TensorDesc xd(xs[0], xs[1], xs[2], xs[3], t);
    cuda::TensorDesc yd(ys[0], ys[1], ys[2], ys[3], t);
    const float one = 1.0f, zero = 0.0f;
    CUDNN_CHECK(cudnnPoolingBackward(cuda::cudnn(d.index), pd.d, &one, yd.get(), s.y.raw(),
                                     yd.get(), dy.raw(), xd.get(), s.x.raw(), &zero, xd.get(),
                                     dx.raw()));
  } else if (s.kind == PoolKind::max) {
    cuda::dispatch_float(t, [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      max_bwd<T><<<cuda::blocks_for(dx.numel()), 256>>>(static_cast<const T*>(dy.raw()),
                                                        static_cast<const int32_t*>(s.argmax.raw()),
                                                        static_cast<T*>(dx.raw()), s.g);
    });
    CUDA_CHECK_LAUNCH();
  } else {
    cuda::dispatch_float(t, [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      avg_bwd<T><<<cuda::blocks_for(dx.numel()), 256>>>(static_cast<const T*>(dy.raw()),
                                                        static_cast<T*>(dx.raw()), s.g);
    });
    CUDA_CHECK_LAUNCH();
  }
  return dx;
}

}  // namespace

RM_REGISTER_KERNELS(Pool2dKernels, cuda, {pool2d_forward_cuda, pool2d_backward_cuda});

}  // namespace ringmaster::ops
