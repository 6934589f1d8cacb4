// roi_pool: device-independent part (checks, allocation, autograd).
// Kernels: cpu/roi_pool_cpu.cpp, cuda/roi_pool.cu.
#include "ops/roi_pool.h"

#include <cmath>
#include <string>

#include "ops/autograd.h"
#include "ops/box_iou.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

// Every coordinate finite and, scaled, within 2^24 cells (so that rounding
// it to a cell index is exact and cannot overflow).
void check_boxes(const Tensor& boxes, double scale) {
  const Tensor host = boxes.to(Device::cpu()).to_plain();
  for (int64_t i = 0; i < host.dim(0); ++i) {
    const float* b = host.data<float>() + 4 * i;
    for (int j = 0; j < 4; ++j)
      RM_THROW_IF(!std::isfinite(b[j]) || std::fabs(b[j] * scale) > 16777216.0, "roi_pool: box ", i,
                  " (", b[0], ", ", b[1], ", ", b[2], ", ", b[3],
                  ") has a coordinate that is not a finite number within 2^24 cells");
  }
}

}  // namespace

Tensor roi_pool(const Tensor& x, const Tensor& boxes, const Tensor& batch, const RoiPoolParams& p) {
  RM_THROW_IF(!x.defined() || x.dtype() != DType::f32 || x.ndim() != 4,
              "roi_pool: x must be an (N, C, H, W) f32 feature map, got ",
              x.defined() ? to_string(x) : std::string("nothing"));
  check_box_list(boxes, "roi_pool", "boxes");
  RM_THROW_IF(boxes.device() != x.device(), "roi_pool: boxes on ", boxes.device().str(), ", x on ",
              x.device().str());
  RM_THROW_IF(p.output_h < 1 || p.output_w < 1 || p.output_h > 4096 || p.output_w > 4096 ||
                  !(p.spatial_scale > 0.0) || !std::isfinite(p.spatial_scale),
              "roi_pool: output ", p.output_h, "x", p.output_w, " must be 1x1 to 4096x4096 and ",
              "spatial_scale ", p.spatial_scale, " a positive number");
  const int64_t k = boxes.dim(0), n = x.dim(0), c = x.dim(1);
  const Tensor idx = checked_box_images(batch, k, n, x.device(), "roi_pool");
  check_boxes(boxes, p.spatial_scale);
  const Tensor xp = x.to_plain(), bp = boxes.to_plain();
  Tensor y = Tensor::empty({k, c, p.output_h, p.output_w}, DType::f32, x.device());
  Tensor argmax = Tensor::empty(y.shape(), DType::i64, x.device());
  const auto& kernels = KernelTable<RoiPoolKernels>::get().on(x.device(), "roi_pool");
  if (y.numel() > 0) kernels.forward(xp, bp, idx, p, y, argmax);
  if (!needs_grad({&x})) return y;
  return record(y,
                backward_node("RoiPoolBackward",
                              [argmax, idx, shape = x.shape(),
                               device = x.device()](const Tensor& dy) -> std::vector<Tensor> {
                                Tensor dx = Tensor::empty(shape, DType::f32, device);
                                KernelTable<RoiPoolKernels>::get()
                                    .on(device, "roi_pool")
                                    .backward(dy.to_plain(), argmax, idx, dx);
                                return {dx};
                              }),
                {x});
}

}  // namespace ringmaster::ops
