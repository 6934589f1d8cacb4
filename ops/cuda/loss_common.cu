// The label check and double-precision mean the CUDA losses share (see
// loss_common.h).
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/loss_common.h"

namespace ringmaster::ops::cuda {
namespace {

constexpr int kThreads = 256;

// bad: the smallest index whose label is outside [0, c), or n when none.
template <class L>
__global__ void check_labels(const L* labels, int64_t n, int64_t c, unsigned long long* bad) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(blockDim.x) * gridDim.x) {
    const int64_t l = static_cast<int64_t>(labels[i]);
    if (l < 0 || l >= c) atomicMin(bad, static_cast<unsigned long long>(i));
  }
}

__global__ void sum_kernel(const double* v, int64_t n, double divisor, float* loss) {
  __shared__ double s[kThreads];
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) acc += v[i];
  s[threadIdx.x] = acc;
  __syncthreads();
  for (int k = blockDim.x / 2; k > 0; k >>= 1) {
    if (threadIdx.x < k) s[threadIdx.x] += s[threadIdx.x + k];
    __syncthreads();
  }
  if (threadIdx.x == 0) loss[0] = static_cast<float>(s[0] / divisor);
}

}  // namespace

int64_t first_label_outside(const Tensor& labels, int64_t c) {
  const int64_t n = labels.numel();
  if (n == 0) return -1;
  set_device(labels.device().index);
  Tensor bad = Tensor::empty({1}, DType::i64, labels.device());
  const unsigned long long none = static_cast<unsigned long long>(n);
  CUDA_CHECK(cudaMemcpy(bad.raw(), &none, sizeof none, cudaMemcpyHostToDevice));
  auto* b = static_cast<unsigned long long*>(bad.raw());
  if (labels.dtype() == DType::i64) {
    check_labels<int64_t>
        <<<blocks_for(n), 256>>>(static_cast<const int64_t*>(labels.raw()), n, c, b);
  } else {
    check_labels<int32_t>
        <<<blocks_for(n), 256>>>(static_cast<const int32_t*>(labels.raw()), n, c, b);
  }
  CUDA_CHECK_LAUNCH();
  unsigned long long first_bad = 0;
  CUDA_CHECK(cudaMemcpy(&first_bad, bad.raw(), sizeof first_bad, cudaMemcpyDeviceToHost));
  return first_bad < none ? static_cast<int64_t>(first_bad) : -1;
}

void mean_into(const double* v, int64_t n, float* loss) {
  sum_into(v, n, static_cast<double>(n), loss);
}

void sum_into(const double* v, int64_t n, double divisor, float* loss) {
  sum_kernel<<<1, kThreads>>>(v, n, divisor, loss);
  CUDA_CHECK_LAUNCH();
}

}  // namespace ringmaster::ops::cuda
