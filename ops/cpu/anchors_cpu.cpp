// make_anchors' grid on the CPU (see AnchorKernels in anchors.h): cells
// row-major, a cell's anchors together.
#include "ops/anchors.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

void shift_cpu(const Tensor& base, const AnchorGrid& g, const Tensor& out) {
  const int64_t a = base.dim(0);
  const float* b = base.data<float>();
  float* o = out.data<float>();
  for (int64_t y = 0; y < g.grid_h; ++y)
    for (int64_t x = 0; x < g.grid_w; ++x) {
      const float sx = cell_offset(x, g.stride_w), sy = cell_offset(y, g.stride_h);
      for (int64_t k = 0; k < a; ++k, o += 4) {
        o[0] = sx + b[4 * k];
        o[1] = sy + b[4 * k + 1];
        o[2] = sx + b[4 * k + 2];
        o[3] = sy + b[4 * k + 3];
      }
    }
}

}  // namespace

RM_REGISTER_KERNELS(AnchorKernels, cpu, {shift_cpu});

}  // namespace ringmaster::ops
