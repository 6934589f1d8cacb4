// make_anchors' grid on CUDA (see AnchorKernels in anchors.h): one thread
// per anchor coordinate, the CPU's f32 sums.
#include "ops/anchors.h"
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

__global__ void shift_kernel(const float* base, int64_t a, int64_t grid_w, double stride_h,
                             double stride_w, int64_t total, float* out) {
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < total;
       e += int64_t(blockDim.x) * gridDim.x) {
    const int64_t coord = e % 4, anchor = (e / 4) % a, cell = e / (4 * a);
    const float shift = coord % 2 == 0 ? cell_offset(cell % grid_w, stride_w)
                                       : cell_offset(cell / grid_w, stride_h);
    out[e] = shift + base[4 * anchor + coord];
  }
}

void shift_cuda(const Tensor& base, const AnchorGrid& g, const Tensor& out) {
  const int64_t total = out.numel();
  if (total == 0) return;
  cuda::set_device(out.device().index);
  shift_kernel<<<cuda::blocks_for(total), 256>>>(static_cast<const float*>(base.raw()), base.dim(0),
                                                 g.grid_w, g.stride_h, g.stride_w, total,
                                                 static_cast<float*>(out.raw()));
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(AnchorKernels, cuda, {shift_cuda});

}  // namespace ringmaster::ops
