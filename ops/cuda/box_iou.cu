// box_iou's matrix on CUDA (see BoxIouKernels in box_iou.h): one thread per
// pair, iou_of (the CPU's formula), compiled without fused multiply-adds
// (ops/CMakeLists.txt) so that it rounds as the host does.
#include "ops/box_iou.h"
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

__global__ void box_iou_kernel(const float* a, const float* b, int64_t na, int64_t nb, float* out) {
  const int64_t total = na * nb;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(blockDim.x) * gridDim.x)
    out[e] = iou_of(a + 4 * (e / nb), b + 4 * (e % nb));
}

void box_iou_matrix_cuda(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t total = a.dim(0) * b.dim(0);
  cuda::set_device(a.device().index);
  box_iou_kernel<<<cuda::blocks_for(total), 256>>>(static_cast<const float*>(a.raw()),
                                                   static_cast<const float*>(b.raw()), a.dim(0),
                                                   b.dim(0), static_cast<float*>(out.raw()));
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(BoxIouKernels, cuda, {box_iou_matrix_cuda});

}  // namespace ringmaster::ops
