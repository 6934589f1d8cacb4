// spatial_cross_entropy CUDA kernels, our own: one thread per pixel (n, s)
// runs the CPU's loops over C (max, then exp and their f32 sum in the same
// order, then the division), neighbouring threads reading neighbouring pixels;
// its loss log(z) + max - x[label] goes to a per-pixel double, and one block
// sums those in double (loss_common.h, with the label check that comes back
// to the host first, so a bad label throws as on the CPU). Logits f32 or f16,
// probabilities and the loss f32, the gradient in the logits' dtype.
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/cuda/loss_common.h"
#include "ops/kernel_registry.h"
#include "ops/spatial_cross_entropy.h"

namespace ringmaster::ops {
namespace {

using cuda::load;
using cuda::store;

// probs (N, C, S) = softmax over C of logits (N, C, S); pixel_loss (N * S) =
// -log probs[label], in double.
template <class T, class L>
__global__ void sce_pixels(const T* x, const L* labels, int64_t n, int64_t c, int64_t s,
                           float* probs, double* pixel_loss) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n * s;
       i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t b = i / s, j = i - b * s;
    const T* xb = x + b * c * s + j;  // stride s over C
    float* pb = probs + b * c * s + j;
    float mx = -INFINITY;
    for (int64_t k = 0; k < c; ++k) mx = fmaxf(mx, load(xb[k * s]));
    float z = 0.0f;
    for (int64_t k = 0; k < c; ++k) {
      const float e = expf(load(xb[k * s]) - mx);
      pb[k * s] = e;
      z += e;
    }
    for (int64_t k = 0; k < c; ++k) pb[k * s] = __fdiv_rn(pb[k * s], z);
    const int64_t y = static_cast<int64_t>(labels[i]);
    // -log p = log z + max - x, without the underflow of log(p).
    pixel_loss[i] = log(static_cast<double>(z)) + static_cast<double>(mx) -
                    static_cast<double>(load(xb[y * s]));
  }
}

// dlogits (N, C, S) = probs * scale, less scale at the label.
template <class T, class L>
__global__ void sce_bwd(const float* probs, const L* labels, float scale, int64_t n, int64_t c,
                        int64_t s, T* d) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n * c * s;
       i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t j = i % s, k = (i / s) % c, b = i / (c * s);
    const float v = __fmul_rn(probs[i], scale);  // no FMA: the CPU rounds the product
    d[i] = store<T>(static_cast<int64_t>(labels[b * s + j]) == k ? v - scale : v);
  }
}

// Calls f(L*{}) with L the element type of the labels (i64 or i32).
template <class F>
void dispatch_label(DType t, F&& f) {
  if (t == DType::i64) {
    f(static_cast<int64_t*>(nullptr));
  } else {
    f(static_cast<int32_t*>(nullptr));
  }
}

int64_t sce_forward_cuda(const Tensor& logits, const Tensor& labels, const Tensor& probs,
                         const Tensor& loss) {
  const int64_t n = logits.dim(0), c = logits.dim(1), s = logits.dim(2);
  cuda::set_device(logits.device().index);
  const int64_t bad = cuda::first_label_outside(labels, c);
  if (bad >= 0) return bad;
  Tensor pixel_loss = Tensor::empty({n * s}, DType::i64, logits.device());  // n * s doubles
  cuda::dispatch_float(logits.dtype(), [&](auto tag) {
    using T = cuda::elem_t<decltype(tag)>;
    dispatch_label(labels.dtype(), [&](auto ltag) {
      using L = std::remove_pointer_t<decltype(ltag)>;
      sce_pixels<T, L><<<cuda::blocks_for(n * s), 256>>>(
          static_cast<const T*>(logits.raw()), static_cast<const L*>(labels.raw()), n, c, s,
          static_cast<float*>(probs.raw()), static_cast<double*>(pixel_loss.raw()));
    });
  });
  CUDA_CHECK_LAUNCH();
  cuda::mean_into(static_cast<const double*>(pixel_loss.raw()), n * s,
                  static_cast<float*>(loss.raw()));
  return -1;
}

void sce_backward_cuda(const Tensor& probs, const Tensor& labels, float scale,
                       const Tensor& dlogits) {
  const int64_t n = probs.dim(0), c = probs.dim(1), s = probs.dim(2);
  cuda::set_device(probs.device().index);
  cuda::dispatch_float(dlogits.dtype(), [&](auto tag) {
    using T = cuda::elem_t<decltype(tag)>;
    dispatch_label(labels.dtype(), [&](auto ltag) {
      using L = std::remove_pointer_t<decltype(ltag)>;
      sce_bwd<T, L><<<cuda::blocks_for(n * c * s), 256>>>(
          static_cast<const float*>(probs.raw()), static_cast<const L*>(labels.raw()), scale, n, c,
          s, static_cast<T*>(dlogits.raw()));
    });
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(SpatialCrossEntropyKernels, cuda, {sce_forward_cuda, sce_backward_cuda});

}  // namespace ringmaster::ops
