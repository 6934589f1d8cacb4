// embedding CUDA kernels: the index check shared with the losses
// (loss_common.h), a gather with one thread per output element, and the
// backward sum by atomic adds (the order of the adds, and so the last bits,
// may differ from run to run; the CPU's is deterministic).
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/loss_common.h"
#include "ops/embedding.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

template <class I>
__global__ void gather_rows(const float* w, const I* idx, float* y, int64_t n, int64_t d) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n * d;
       e += int64_t(blockDim.x) * gridDim.x) {
    const int64_t i = e / d, c = e % d;
    y[e] = w[static_cast<int64_t>(idx[i]) * d + c];
  }
}

template <class I>
__global__ void scatter_add_rows(const float* g, const I* idx, float* dw, int64_t n, int64_t d,
                                 int64_t padding_idx) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n * d;
       e += int64_t(blockDim.x) * gridDim.x) {
    const int64_t i = e / d, c = e % d;
    const int64_t v = static_cast<int64_t>(idx[i]);
    if (v != padding_idx) atomicAdd(dw + v * d + c, g[e]);
  }
}

int64_t embedding_first_outside_cuda(const Tensor& indices, int64_t rows) {
  return cuda::first_label_outside(indices, rows);
}

void embedding_forward_cuda(const Tensor& weight, const Tensor& indices, const Tensor& y) {
  const int64_t n = indices.numel(), d = weight.dim(1);
  if (n * d == 0) return;
  cuda::set_device(weight.device().index);
  const float* w = static_cast<const float*>(weight.raw());
  float* out = static_cast<float*>(y.raw());
  if (indices.dtype() == DType::i64)
    gather_rows<<<cuda::blocks_for(n * d), 256>>>(w, static_cast<const int64_t*>(indices.raw()),
                                                  out, n, d);
  else
    gather_rows<<<cuda::blocks_for(n * d), 256>>>(w, static_cast<const int32_t*>(indices.raw()),
                                                  out, n, d);
  CUDA_CHECK_LAUNCH();
}

void embedding_backward_cuda(const Tensor& dy, const Tensor& indices, int64_t padding_idx,
                             const Tensor& dweight) {
  const int64_t n = indices.numel(), d = dweight.dim(1);
  cuda::set_device(dweight.device().index);
  CUDA_CHECK(cudaMemsetAsync(dweight.raw(), 0, dweight.nbytes()));
  if (n * d == 0) return;
  const float* g = static_cast<const float*>(dy.raw());
  float* dw = static_cast<float*>(dweight.raw());
  if (indices.dtype() == DType::i64)
    scatter_add_rows<<<cuda::blocks_for(n * d), 256>>>(
        g, static_cast<const int64_t*>(indices.raw()), dw, n, d, padding_idx);
  else
    scatter_add_rows<<<cuda::blocks_for(n * d), 256>>>(
        g, static_cast<const int32_t*>(indices.raw()), dw, n, d, padding_idx);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(EmbeddingKernels, cuda,
                    {embedding_first_outside_cuda, embedding_forward_cuda,
                     embedding_backward_cuda});

}  // namespace ringmaster::ops
