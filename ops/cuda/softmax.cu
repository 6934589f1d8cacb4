// softmax CUDA kernels: cuDNN softmax (accurate: max subtracted) forward and
// backward over the axis, the tensor viewed as (outer, axis, inner, 1) in
// channel mode; the fused cross-entropy is our own: one block per row, sums
// in double like the CPU, and a label check whose result (the first bad row)
// is copied back to the host, so a bad label throws as on the CPU (both in
// loss_common.h, shared with spatial_cross_entropy.cu).
#include <climits>

#include "ops/cuda/cuda_context.h"
#include "ops/cuda/loss_common.h"
#include "ops/kernel_registry.h"
#include "ops/softmax.h"

namespace ringmaster::ops {
namespace {

constexpr int kRowThreads = 256;

// (outer, axis, inner) of a plain tensor around `axis`.
void split_dims(const Tensor& t, int axis, int64_t& outer, int64_t& len, int64_t& inner) {
  outer = 1;
  inner = 1;
  for (int d = 0; d < axis; ++d) outer *= t.dim(d);
  for (int d = axis + 1; d < t.ndim(); ++d) inner *= t.dim(d);
  len = t.dim(axis);
}

void softmax_forward_cuda(const Tensor& x, int axis, const Tensor& y) {
  if (x.numel() == 0) return;
  int64_t outer, len, inner;
  split_dims(x, axis, outer, len, inner);
  cuda::TensorDesc d(outer, len, inner, 1);
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnSoftmaxForward(cuda::cudnn(x.device().index), CUDNN_SOFTMAX_ACCURATE,
                                  CUDNN_SOFTMAX_MODE_CHANNEL, &one, d.get(), x.raw(), &zero,
                                  d.get(), y.raw()));
}

void softmax_backward_cuda(const Tensor& y, const Tensor& dy, int axis, const Tensor& dx) {
  if (y.numel() == 0) return;
  int64_t outer, len, inner;
  split_dims(y, axis, outer, len, inner);
  cuda::TensorDesc d(outer, len, inner, 1);
  const float one = 1.0f, zero = 0.0f;
  CUDNN_CHECK(cudnnSoftmaxBackward(cuda::cudnn(y.device().index), CUDNN_SOFTMAX_ACCURATE,
                                   CUDNN_SOFTMAX_MODE_CHANNEL, &one, d.get(), y.raw(), d.get(),
                                   dy.raw(), &zero, d.get(), dx.raw()));
}

// One block per row of logits (N, C): probs = softmax(row); row_loss[i] =
// log(sum) - (x[label] - max), in double.
template <class L>
__global__ void ce_rows(const float* x, const L* labels, int64_t c, float* probs,
                        double* row_loss) {
  __shared__ float smax[kRowThreads];
  __shared__ double ssum[kRowThreads];
  const int64_t row = blockIdx.x;
  const float* xi = x + row * c;
  float* pi = probs + row * c;
  float mx = -INFINITY;
  for (int64_t j = threadIdx.x; j < c; j += blockDim.x) mx = fmaxf(mx, xi[j]);
  smax[threadIdx.x] = mx;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) smax[threadIdx.x] = fmaxf(smax[threadIdx.x], smax[threadIdx.x + s]);
    __syncthreads();
  }
  mx = smax[0];
  double sum = 0.0;
  for (int64_t j = threadIdx.x; j < c; j += blockDim.x) {
    const float e = expf(xi[j] - mx);
    pi[j] = e;
    sum += e;
  }
  ssum[threadIdx.x] = sum;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) ssum[threadIdx.x] += ssum[threadIdx.x + s];
    __syncthreads();
  }
  sum = ssum[0];
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = threadIdx.x; j < c; j += blockDim.x) pi[j] *= inv;
  if (threadIdx.x == 0) {
    const int64_t l = static_cast<int64_t>(labels[row]);
    row_loss[row] = log(sum) - static_cast<double>(xi[l] - mx);
  }
}

template <class L>
int64_t ce_forward(const Tensor& logits, const Tensor& labels, const Tensor& probs,
                   const Tensor& loss) {
  const int64_t n = logits.dim(0), c = logits.dim(1);
  const int dev = logits.device().index;
  cuda::set_device(dev);
  const L* lab = static_cast<const L*>(labels.raw());
  // The label check first: its verdict comes back to the host (a sync).
  const int64_t bad = cuda::first_label_outside(labels, c);
  if (bad >= 0) return bad;

  RM_CHECK(n <= INT_MAX, "cross entropy over ", n, " rows");
  Tensor row_loss = Tensor::empty({n}, DType::i64, logits.device());  // n doubles
  ce_rows<L><<<static_cast<unsigned>(n), kRowThreads>>>(static_cast<const float*>(logits.raw()),
                                                        lab, c, static_cast<float*>(probs.raw()),
                                                        static_cast<double*>(row_loss.raw()));
  CUDA_CHECK_LAUNCH();
  cuda::mean_into(static_cast<const double*>(row_loss.raw()), n, static_cast<float*>(loss.raw()));
  return -1;
}

int64_t cross_entropy_forward_cuda(const Tensor& logits, const Tensor& labels, const Tensor& probs,
                                   const Tensor& loss) {
  if (labels.dtype() == DType::i64) return ce_forward<int64_t>(logits, labels, probs, loss);
  return ce_forward<int32_t>(logits, labels, probs, loss);
}

// dlogits (N, C) = (probs - onehot) * dloss[0] / N.
template <class L>
__global__ void ce_backward(const float* probs, const L* labels, const float* dloss, int64_t n,
                            int64_t c, float* d) {
  const float g = dloss[0] / static_cast<float>(n);
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n * c;
       k += int64_t(blockDim.x) * gridDim.x) {
    const int64_t i = k / c, j = k - i * c;
    const float v = probs[k] * g;
    d[k] = j == static_cast<int64_t>(labels[i]) ? v - g : v;
  }
}

void cross_entropy_backward_cuda(const Tensor& probs, const Tensor& labels, const Tensor& dloss,
                                 const Tensor& dlogits) {
  const int64_t n = probs.dim(0), c = probs.dim(1);
  cuda::set_device(probs.device().index);
  RM_CHECK(dloss.device() == probs.device(), "cross entropy: dloss on ", dloss.device().str(),
           ", probs on ", probs.device().str());
  const float* p = static_cast<const float*>(probs.raw());
  const float* g = static_cast<const float*>(dloss.raw());
  float* d = static_cast<float*>(dlogits.raw());
  if (labels.dtype() == DType::i64) {
    ce_backward<int64_t><<<cuda::blocks_for(n * c), 256>>>(
        p, static_cast<const int64_t*>(labels.raw()), g, n, c, d);
  } else {
    ce_backward<int32_t><<<cuda::blocks_for(n * c), 256>>>(
        p, static_cast<const int32_t*>(labels.raw()), g, n, c, d);
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(SoftmaxKernels, cuda,
                    {softmax_forward_cuda, softmax_backward_cuda, cross_entropy_forward_cuda,
                     cross_entropy_backward_cuda});

}  // namespace ringmaster::ops
