// box_iou's matrix on the CPU (see BoxIouKernels in box_iou.h): rows in
// parallel once the matrix is large enough to pay for the threads.
#include "ops/box_iou.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

void box_iou_matrix_cpu(const Tensor& a, const Tensor& b, const Tensor& out) {
  const int64_t na = a.dim(0), nb = b.dim(0);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* o = out.data<float>();
#pragma omp parallel for schedule(static) if (na * nb > 16384)
  for (int64_t i = 0; i < na; ++i)
    for (int64_t j = 0; j < nb; ++j) o[i * nb + j] = iou_of(pa + 4 * i, pb + 4 * j);
}

}  // namespace

RM_REGISTER_KERNELS(BoxIouKernels, cpu, {box_iou_matrix_cpu});

}  // namespace ringmaster::ops
