// The overlap matrix of nms on CUDA (see NmsKernels in nms.h): a block of 64
// threads per (row tile, column tile) of the candidates, the tile's 64
// column boxes in shared memory, one 64-bit word per thread. Tiles left of
// the diagonal hold no pair c > r and are written as zeros. Compiled
// without fused multiply-adds (ops/CMakeLists.txt), so iou_of rounds as on
// the host and both backends keep the same boxes.
#include "ops/box_iou.h"
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"
#include "ops/nms.h"

namespace ringmaster::ops {
namespace {

constexpr int kTile = 64;

__global__ void overlap_mask_kernel(const float* boxes, const int64_t* order,
                                    const int64_t* classes, double iou_threshold, int64_t m,
                                    int64_t words, unsigned long long* mask) {
  const int64_t row_tile = blockIdx.y, col_tile = blockIdx.x;
  const int64_t r = row_tile * kTile + threadIdx.x;
  __shared__ float col_boxes[kTile * 4];
  __shared__ int64_t col_classes[kTile];
  const int64_t c0 = col_tile * kTile;
  const int64_t cols = m - c0 < kTile ? m - c0 : kTile;
  if (threadIdx.x < cols) {
    const int64_t src = order[c0 + threadIdx.x];
    for (int k = 0; k < 4; ++k) col_boxes[threadIdx.x * 4 + k] = boxes[src * 4 + k];
    col_classes[threadIdx.x] = classes != nullptr ? classes[src] : 0;
  }
  __syncthreads();
  if (r >= m) return;
  unsigned long long bits = 0;
  if (col_tile >= row_tile) {
    const float* a = boxes + order[r] * 4;
    const int64_t cls = classes != nullptr ? classes[order[r]] : 0;
    for (int64_t j = 0; j < cols; ++j) {
      if (c0 + j <= r || col_classes[j] != cls) continue;
      if (static_cast<double>(iou_of(a, col_boxes + j * 4)) > iou_threshold) bits |= 1ULL << j;
    }
  }
  mask[r * words + col_tile] = bits;
}

void overlap_mask_cuda(const Tensor& boxes, const Tensor& order, const Tensor& classes,
                       double iou_threshold, const Tensor& mask) {
  const int64_t m = order.dim(0), words = mask.dim(1);
  if (m == 0) return;
  cuda::set_device(boxes.device().index);
  const dim3 grid(static_cast<unsigned>(words), static_cast<unsigned>(words));
  overlap_mask_kernel<<<grid, kTile>>>(
      static_cast<const float*>(boxes.raw()), static_cast<const int64_t*>(order.raw()),
      classes.defined() ? static_cast<const int64_t*>(classes.raw()) : nullptr, iou_threshold, m,
      words, static_cast<unsigned long long*>(mask.raw()));
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(NmsKernels, cuda, {overlap_mask_cuda});

}  // namespace ringmaster::ops
