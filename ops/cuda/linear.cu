// linear CUDA kernels: the products on cuBLAS (cublasSgemm, fp32 math, no
// TF32) with row-major buffers read as column-major transposes; the bias and
// the fused relu are one own element-wise pass after the product, and db is
// an own column-sum kernel. x is plain (N, in), any rank flattened from dim 1.
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"
#include "ops/linear.h"

namespace ringmaster::ops {
namespace {

// y (N, out) += b (out) broadcast over rows; then max(y, 0) when relu.
__global__ void bias_relu(float* y, const float* b, int64_t n, int64_t out, bool relu) {
  for (int64_t k = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; k < n * out;
       k += int64_t(blockDim.x) * gridDim.x) {
    float v = y[k];
    if (b != nullptr) v += b[k % out];
    y[k] = relu ? (v > 0.0f ? v : 0.0f) : v;
  }
}

// db (out) = sum over rows of dy (N, out); one thread per column (adjacent
// threads read adjacent columns), summed in order, in float like oneDNN.
__global__ void column_sums(const float* dy, int64_t n, int64_t out, float* db) {
  for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < out;
       j += int64_t(blockDim.x) * gridDim.x) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += dy[i * out + j];
    db[j] = s;
  }
}

void linear_forward_cuda(const Tensor& x, const Tensor& w, const Tensor& b, bool fuse_relu,
                         const Tensor& y) {
  const int64_t n = x.dim(0), out = w.dim(0), in = w.dim(1);
  cublasHandle_t h = cuda::cublas(x.device().index);
  const float one = 1.0f, zero = 0.0f;
  // Column-major: y^T (out, N) = w^T^T (out, in) * x^T (in, N).
  if (n > 0 && out > 0) {
    CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, cuda::to_int(out, "out"),
                             cuda::to_int(n, "N"), cuda::to_int(in, "in"), &one,
                             static_cast<const float*>(w.raw()), cuda::to_int(in, "in"),
                             static_cast<const float*>(x.raw()), cuda::to_int(in, "in"), &zero,
                             static_cast<float*>(y.raw()), cuda::to_int(out, "out")));
  }
  if ((b.defined() || fuse_relu) && n * out > 0) {
    bias_relu<<<cuda::blocks_for(n * out), 256>>>(
        static_cast<float*>(y.raw()), b.defined() ? static_cast<const float*>(b.raw()) : nullptr, n,
        out, fuse_relu);
    CUDA_CHECK_LAUNCH();
  }
}

void linear_backward_data_cuda(const Tensor& dy, const Tensor& w, const Tensor& dx) {
  const int64_t n = dy.dim(0), out = w.dim(0), in = w.dim(1);
  if (n * in == 0) return;
  cublasHandle_t h = cuda::cublas(dy.device().index);
  const float one = 1.0f, zero = 0.0f;
  // Column-major: dx^T (in, N) = w^T (in, out) * dy^T (out, N).
  CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, cuda::to_int(in, "in"),
                           cuda::to_int(n, "N"), cuda::to_int(out, "out"), &one,
                           static_cast<const float*>(w.raw()), cuda::to_int(in, "in"),
                           static_cast<const float*>(dy.raw()), cuda::to_int(out, "out"), &zero,
                           static_cast<float*>(dx.raw()), cuda::to_int(in, "in")));
}

void linear_backward_weights_cuda(const Tensor& x, const Tensor& dy, const Tensor& dw,
                                  const Tensor& db) {
  const int64_t n = x.dim(0), out = dw.dim(0), in = dw.dim(1);
  cublasHandle_t h = cuda::cublas(x.device().index);
  const float one = 1.0f, zero = 0.0f;
  if (out * in > 0) {
    // Column-major: dw^T (in, out) = x^T (in, N) * dy (N, out).
    CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, cuda::to_int(in, "in"),
                             cuda::to_int(out, "out"), cuda::to_int(n, "N"), &one,
                             static_cast<const float*>(x.raw()), cuda::to_int(in, "in"),
                             static_cast<const float*>(dy.raw()), cuda::to_int(out, "out"), &zero,
                             static_cast<float*>(dw.raw()), cuda::to_int(in, "in")));
  }
  if (db.defined() && out > 0) {
    column_sums<<<cuda::blocks_for(out), 256>>>(static_cast<const float*>(dy.raw()), n, out,
                                                static_cast<float*>(db.raw()));
    CUDA_CHECK_LAUNCH();
  }
}

}  // namespace

RM_REGISTER_KERNELS(LinearKernels, cuda,
                    {linear_forward_cuda, linear_backward_data_cuda, linear_backward_weights_cuda});

}  // namespace ringmaster::ops
