// roi_align CPU kernels: forward in parallel over (box, channel) planes;
// backward in parallel over channels, each thread spreading its channel's
// gradient box by box in order (deterministic, no atomics).
#include <algorithm>

#include "ops/kernel_registry.h"
#include "ops/roi_align.h"
#include "ops/roi_align_sampling.h"

namespace ringmaster::ops {
namespace {

void roi_align_forward_cpu(const Tensor& x, const Tensor& boxes, const Tensor& batch,
                           const RoiAlignParams& p, const Tensor& y) {
  const int64_t k = boxes.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t oh = p.output_h, ow = p.output_w;
  const float* xs = x.data<float>();
  const float* bx = boxes.data<float>();
  const int64_t* img = batch.data<int64_t>();
  float* ys = y.data<float>();
  const auto scale = static_cast<float>(p.spatial_scale);
#pragma omp parallel for schedule(static) if (k * c * oh * ow > 4096)
  for (int64_t kc = 0; kc < k * c; ++kc) {
    const int64_t r = kc / c, ch = kc % c;
    const RoiBins b = roi_bins(bx + 4 * r, scale, oh, ow, p.sampling_ratio, p.aligned);
    const float* plane = xs + (img[r] * c + ch) * h * w;
    float* out = ys + kc * oh * ow;
    for (int64_t py = 0; py < oh; ++py)
      for (int64_t px = 0; px < ow; ++px) {
        float sum = 0.0f;
        for_each_tap(b, py, px, h, w, [&](int64_t at, float wt) { sum += wt * plane[at]; });
        out[py * ow + px] = sum / b.count;
      }
  }
}

void roi_align_backward_cpu(const Tensor& dy, const Tensor& boxes, const Tensor& batch,
                            const RoiAlignParams& p, const Tensor& dx) {
  const int64_t k = boxes.dim(0), n = dx.dim(0), c = dx.dim(1), h = dx.dim(2), w = dx.dim(3);
  const int64_t oh = p.output_h, ow = p.output_w;
  const float* g = dy.data<float>();
  const float* bx = boxes.data<float>();
  const int64_t* img = batch.data<int64_t>();
  float* d = dx.data<float>();
  std::fill(d, d + n * c * h * w, 0.0f);
  const auto scale = static_cast<float>(p.spatial_scale);
#pragma omp parallel for schedule(static) if (k * c * oh * ow > 4096)
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t r = 0; r < k; ++r) {
      const RoiBins b = roi_bins(bx + 4 * r, scale, oh, ow, p.sampling_ratio, p.aligned);
      float* plane = d + (img[r] * c + ch) * h * w;
      const float* up = g + (r * c + ch) * oh * ow;
      for (int64_t py = 0; py < oh; ++py)
        for (int64_t px = 0; px < ow; ++px) {
          const float share = up[py * ow + px] / b.count;
          for_each_tap(b, py, px, h, w, [&](int64_t at, float wt) { plane[at] += wt * share; });
        }
    }
}

}  // namespace

RM_REGISTER_KERNELS(RoiAlignKernels, cpu, {roi_align_forward_cpu, roi_align_backward_cpu});

}  // namespace ringmaster::ops
