// smooth_l1_loss and bce_with_logits CUDA kernels: one thread per element
// writes its term in double, one block sums them (loss_common.h, as the
// cross-entropies do); the derivatives element-wise. The formulas are the
// CPU's (ops/loss_terms.h).
#include "ops/bce_with_logits.h"
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/loss_common.h"
#include "ops/kernel_registry.h"
#include "ops/loss_terms.h"
#include "ops/smooth_l1.h"

namespace ringmaster::ops {
namespace {

struct SmoothL1 {
  double beta;
  __device__ double term(float x, float t) const { return smooth_l1_term(x, t, beta); }
  __device__ float derivative(float x, float t) const { return smooth_l1_derivative(x, t, beta); }
};

struct Bce {
  __device__ double term(float x, float t) const { return bce_with_logits_term(x, t); }
  __device__ float derivative(float x, float t) const { return bce_with_logits_derivative(x, t); }
};

template <class Loss>
__global__ void terms(const float* x, const float* t, double* out, int64_t n, Loss loss) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    out[i] = loss.term(x[i], t[i]);
}

template <class Loss>
__global__ void derivatives(const float* x, const float* t, float* dx, int64_t n, float scale,
                            Loss loss) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x)
    dx[i] = scale * loss.derivative(x[i], t[i]);
}

template <class Loss>
void forward(const Tensor& x, const Tensor& t, double divisor, const Tensor& loss, Loss l) {
  const int64_t n = x.numel();
  cuda::set_device(x.device().index);
  Tensor buf = Tensor::empty({n}, DType::i64, x.device());  // n doubles
  terms<<<cuda::blocks_for(n), 256>>>(static_cast<const float*>(x.raw()),
                                      static_cast<const float*>(t.raw()),
                                      static_cast<double*>(buf.raw()), n, l);
  CUDA_CHECK_LAUNCH();
  cuda::sum_into(static_cast<const double*>(buf.raw()), n, divisor,
                 static_cast<float*>(loss.raw()));
}

template <class Loss>
void backward(const Tensor& x, const Tensor& t, float scale, const Tensor& dx, Loss l) {
  const int64_t n = x.numel();
  cuda::set_device(x.device().index);
  derivatives<<<cuda::blocks_for(n), 256>>>(static_cast<const float*>(x.raw()),
                                            static_cast<const float*>(t.raw()),
                                            static_cast<float*>(dx.raw()), n, scale, l);
  CUDA_CHECK_LAUNCH();
}

void smooth_l1_forward_cuda(const Tensor& x, const Tensor& t, double beta, double divisor,
                            const Tensor& loss) {
  forward(x, t, divisor, loss, SmoothL1{beta});
}
void smooth_l1_backward_cuda(const Tensor& x, const Tensor& t, double beta, float scale,
                             const Tensor& dx) {
  backward(x, t, scale, dx, SmoothL1{beta});
}
void bce_forward_cuda(const Tensor& x, const Tensor& t, double divisor, const Tensor& loss) {
  forward(x, t, divisor, loss, Bce{});
}
void bce_backward_cuda(const Tensor& x, const Tensor& t, float scale, const Tensor& dx) {
  backward(x, t, scale, dx, Bce{});
}

}  // namespace

RM_REGISTER_KERNELS(SmoothL1Kernels, cuda, {smooth_l1_forward_cuda, smooth_l1_backward_cuda});
RM_REGISTER_KERNELS(BceWithLogitsKernels, cuda, {bce_forward_cuda, bce_backward_cuda});

}  // namespace ringmaster::ops
