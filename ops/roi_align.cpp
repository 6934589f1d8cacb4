// roi_align: device-independent part (checks, allocation, autograd).
// Kernels: cpu/roi_align_cpu.cpp, cuda/roi_align.cu.
#include "ops/roi_align.h"

#include <cmath>
#include <string>

#include "ops/autograd.h"
#include "ops/box_iou.h"
#include "ops/kernel_registry.h"
#include "ops/roi_align_sampling.h"

namespace ringmaster::ops {
namespace {

// Every box finite, and not so large on the map that its adaptive sampling
// grid would run away (a hostile box of 1e30 pixels is refused, not sampled).
void check_boxes(const Tensor& boxes, const RoiAlignParams& p) {
  const Tensor host = boxes.to(Device::cpu()).to_plain();
  for (int64_t i = 0; i < host.dim(0); ++i) {
    const float* b = host.data<float>() + 4 * i;
    RM_THROW_IF(!std::isfinite(b[0]) || !std::isfinite(b[1]) || !std::isfinite(b[2]) ||
                    !std::isfinite(b[3]),
                "roi_align: box ", i, " (", b[0], ", ", b[1], ", ", b[2], ", ", b[3],
                ") has a coordinate that is not a finite number");
    const RoiBins bins = roi_bins(b, static_cast<float>(p.spatial_scale), p.output_h, p.output_w,
                                  p.sampling_ratio, p.aligned);
    RM_THROW_IF(bins.grid_h > kRoiAlignMaxSamples || bins.grid_w > kRoiAlignMaxSamples,
                "roi_align: box ", i, " (", b[0], ", ", b[1], ", ", b[2], ", ", b[3], ") needs ",
                bins.grid_h, "x", bins.grid_w, " samples per bin; at most ", kRoiAlignMaxSamples,
                " per side (a smaller box, or a sampling_ratio)");
  }
}

}  // namespace

Tensor roi_align(const Tensor& x, const Tensor& boxes, const Tensor& batch,
                 const RoiAlignParams& p) {
  RM_THROW_IF(!x.defined() || x.dtype() != DType::f32 || x.ndim() != 4,
              "roi_align: x must be an (N, C, H, W) f32 feature map, got ",
              x.defined() ? to_string(x) : std::string("nothing"));
  check_box_list(boxes, "roi_align", "boxes");
  RM_THROW_IF(boxes.device() != x.device(), "roi_align: boxes on ", boxes.device().str(), ", x on ",
              x.device().str());
  RM_THROW_IF(p.output_h < 1 || p.output_w < 1 || p.output_h > 4096 || p.output_w > 4096 ||
                  !(p.spatial_scale > 0.0) || !std::isfinite(p.spatial_scale) ||
                  p.sampling_ratio > kRoiAlignMaxSamples,
              "roi_align: output ", p.output_h, "x", p.output_w, " must be 1x1 to 4096x4096, ",
              "spatial_scale ", p.spatial_scale, " a positive number and sampling_ratio ",
              p.sampling_ratio, " at most ", kRoiAlignMaxSamples);
  const int64_t k = boxes.dim(0), n = x.dim(0), c = x.dim(1);
  const Tensor idx = checked_box_images(batch, k, n, x.device(), "roi_align");
  check_boxes(boxes, p);
  const Tensor xp = x.to_plain(), bp = boxes.to_plain();
  Tensor y = Tensor::empty({k, c, p.output_h, p.output_w}, DType::f32, x.device());
  const auto& kernels = KernelTable<RoiAlignKernels>::get().on(x.device(), "roi_align");
  if (y.numel() > 0) kernels.forward(xp, bp, idx, p, y);
  if (!needs_grad({&x})) return y;
  return record(y,
                backward_node("RoiAlignBackward",
                              [bp, idx, p, shape = x.shape(),
                               device = x.device()](const Tensor& dy) -> std::vector<Tensor> {
                                Tensor dx = Tensor::empty(shape, DType::f32, device);
                                KernelTable<RoiAlignKernels>::get()
                                    .on(device, "roi_align")
                                    .backward(dy.to_plain(), bp, idx, p, dx);
                                return {dx};
                              }),
                {x});
}

}  // namespace ringmaster::ops
