// linear CUDA kernels: the products on cuBLAS with row-major buffers read as
// column-major transposes: f32 through cublasSgemm (fp32 math, no TF32), f16
// through cublasGemmEx (f16 in and out, f32 accumulation, tensor cores). The
// bias and the fused relu are one own element-wise pass after the product,
// and db is an own column-sum kernel (f32 sums). x is plain (N, in), any rank
// flattened from dim 1.
#include "ops/cuda/cuda_context.h"
#include "ops/cuda/float_types.cuh"
#include "ops/kernel_registry.h"
#include "ops/linear.h"

namespace ringmaster::ops {
namespace {

using cuda::load;
using cuda::store;

// y (N, out) += b (out) broadcast over rows; then max(y, 0) when relu.
template <class T>
__global__ void bias_relu(T* y, const T* b, int64_t n, int64_t out, bool relu) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n * out;
       k += int64_t(blockDim.x) * gridDim.x) {
    float v = load(y[k]);
    if (b != nullptr) v += load(b[k % out]);
    y[k] = store<T>(relu ? (v > 0.0f ? v : 0.0f) : v);
  }
}

// db (out) = sum over rows of dy (N, out); one thread per column (adjacent
// threads read adjacent columns), summed in order, in float like oneDNN.
template <class T>
__global__ void column_sums(const T* dy, int64_t n, int64_t out, T* db) {
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < out;
       j += int64_t(blockDim.x) * gridDim.x) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += load(dy[i * out + j]);
    db[j] = store<T>(s);
  }
}

// C = op(A) op(B) in column-major terms, C (m, n); f32 or f16 buffers.
void gemm(cublasHandle_t h, DType t, cublasOperation_t ta, cublasOperation_t tb, int64_t m,
          int64_t n, int64_t k, const void* a, int64_t lda, const void* b, int64_t ldb, void* c,
          int64_t ldc) {
  const float one = 1.0f, zero = 0.0f;
  const int im = cuda::to_int(m, "m"), in = cuda::to_int(n, "n"), ik = cuda::to_int(k, "k");
  const int ia = cuda::to_int(lda, "lda"), ib = cuda::to_int(ldb, "ldb"),
            ic = cuda::to_int(ldc, "ldc");
  if (t == DType::f32) {
    CUBLAS_CHECK(cublasSgemm(h, ta, tb, im, in, ik, &one, static_cast<const float*>(a), ia,
                             static_cast<const float*>(b), ib, &zero, static_cast<float*>(c), ic));
  } else {
    CUBLAS_CHECK(cublasGemmEx(h, ta, tb, im, in, ik, &one, a, CUDA_R_16F, ia, b, CUDA_R_16F, ib,
                              &zero, c, CUDA_R_16F, ic, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
  }
}

void linear_forward_cuda(const Tensor& x, const Tensor& w, const Tensor& b, bool fuse_relu,
                         const Tensor& y) {
  const int64_t n = x.dim(0), out = w.dim(0), in = w.dim(1);
  cublasHandle_t h = cuda::cublas(x.device().index);
  // Column-major: y^T (out, N) = w^T^T (out, in) * x^T (in, N).
  if (n > 0 && out > 0)
    gemm(h, x.dtype(), CUBLAS_OP_T, CUBLAS_OP_N, out, n, in, w.raw(), in, x.raw(), in, y.raw(),
         out);
  if ((b.defined() || fuse_relu) && n * out > 0) {
    cuda::dispatch_float(x.dtype(), [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      bias_relu<T><<<cuda::blocks_for(n * out), 256>>>(
          static_cast<T*>(y.raw()), b.defined() ? static_cast<const T*>(b.raw()) : nullptr, n, out,
          fuse_relu);
    });
    CUDA_CHECK_LAUNCH();
  }
}

void linear_backward_data_cuda(const Tensor& dy, const Tensor& w, const Tensor& dx) {
  const int64_t n = dy.dim(0), out = w.dim(0), in = w.dim(1);
  if (n * in == 0) return;
  // Column-major: dx^T (in, N) = w^T (in, out) * dy^T (out, N).
  gemm(cuda::cublas(dy.device().index), dy.dtype(), CUBLAS_OP_N, CUBLAS_OP_N, in, n, out, w.raw(),
       in, dy.raw(), out, dx.raw(), in);
}

void linear_backward_weights_cuda(const Tensor& x, const Tensor& dy, const Tensor& dw,
                                  const Tensor& db) {
  const int64_t n = x.dim(0), out = dw.dim(0), in = dw.dim(1);
  cublasHandle_t h = cuda::cublas(x.device().index);
  // Column-major: dw^T (in, out) = x^T (in, N) * dy (N, out).
  if (out * in > 0)
    gemm(h, x.dtype(), CUBLAS_OP_N, CUBLAS_OP_T, in, out, n, x.raw(), in, dy.raw(), out, dw.raw(),
         in);
  if (db.defined() && out > 0) {
    cuda::dispatch_float(dy.dtype(), [&](auto tag) {
      using T = cuda::elem_t<decltype(tag)>;
      column_sums<T><<<cuda::blocks_for(out), 256>>>(static_cast<const T*>(dy.raw()), n, out,
                                                     static_cast<T*>(db.raw()));
    });
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace

RM_REGISTER_KERNELS(LinearKernels, cuda,
                    {linear_forward_cuda, linear_backward_data_cuda, linear_backward_weights_cuda});

}  // namespace ringmaster::ops
