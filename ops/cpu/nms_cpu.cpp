// The overlap matrix of nms on the CPU (see NmsKernels in nms.h): one row of
// candidates per iteration, only the pairs after the row's own.
#include <algorithm>
#include <cstdint>

#include "ops/box_iou.h"
#include "ops/kernel_registry.h"
#include "ops/nms.h"

namespace ringmaster::ops {
namespace {

void overlap_mask_cpu(const Tensor& boxes, const Tensor& order, const Tensor& classes,
                      double iou_threshold, const Tensor& mask) {
  const float* box = boxes.data<float>();
  const int64_t* at = order.data<int64_t>();
  const int64_t* cls = classes.defined() ? classes.data<int64_t>() : nullptr;
  const int64_t m = order.dim(0), words = mask.dim(1);
  auto* bits = reinterpret_cast<uint64_t*>(mask.data<int64_t>());
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t r = 0; r < m; ++r) {
    uint64_t* row = bits + r * words;
    std::fill(row, row + words, uint64_t{0});
    const float* a = box + 4 * at[r];
    for (int64_t c = r + 1; c < m; ++c) {
      if (cls != nullptr && cls[at[c]] != cls[at[r]]) continue;
      if (static_cast<double>(iou_of(a, box + 4 * at[c])) > iou_threshold)
        row[c / 64] |= uint64_t{1} << (c % 64);
    }
  }
}

}  // namespace

RM_REGISTER_KERNELS(NmsKernels, cpu, {overlap_mask_cpu});

}  // namespace ringmaster::ops
