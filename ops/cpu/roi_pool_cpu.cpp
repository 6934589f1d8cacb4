// roi_pool CPU kernels: forward in parallel over (box, channel) planes;
// backward in parallel over channels, each thread adding its channel's
// gradients box by box in order (deterministic, no atomics).
#include <algorithm>
#include <limits>

#include "ops/kernel_registry.h"
#include "ops/roi_pool.h"
#include "ops/roi_pool_window.h"

namespace ringmaster::ops {
namespace {

void roi_pool_forward_cpu(const Tensor& x, const Tensor& boxes, const Tensor& batch,
                          const RoiPoolParams& p, const Tensor& y, const Tensor& argmax) {
  const int64_t k = boxes.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t oh = p.output_h, ow = p.output_w;
  const float* xs = x.data<float>();
  const float* bx = boxes.data<float>();
  const int64_t* img = batch.data<int64_t>();
  float* ys = y.data<float>();
  int64_t* am = argmax.data<int64_t>();
  const auto scale = static_cast<float>(p.spatial_scale);
#pragma omp parallel for schedule(static) if (k * c * oh * ow > 4096)
  for (int64_t kc = 0; kc < k * c; ++kc) {
    const int64_t r = kc / c, ch = kc % c;
    const float* plane = xs + (img[r] * c + ch) * h * w;
    for (int64_t py = 0; py < oh; ++py)
      for (int64_t px = 0; px < ow; ++px) {
        const RoiPoolWindow win = roi_pool_window(bx + 4 * r, scale, oh, ow, py, px, h, w);
        float best = win.empty() ? 0.0f : -std::numeric_limits<float>::max();
        int64_t at = -1;
        for (int64_t yy = win.y0; yy < win.y1; ++yy)
          for (int64_t xx = win.x0; xx < win.x1; ++xx)
            if (plane[yy * w + xx] > best || at < 0) {
              best = plane[yy * w + xx];
              at = yy * w + xx;
            }
        ys[(kc * oh + py) * ow + px] = best;
        am[(kc * oh + py) * ow + px] = at;
      }
  }
}

void roi_pool_backward_cpu(const Tensor& dy, const Tensor& argmax, const Tensor& batch,
                           const Tensor& dx) {
  const int64_t k = dy.dim(0), c = dy.dim(1), bins = dy.dim(2) * dy.dim(3);
  const int64_t n = dx.dim(0), hw = dx.dim(2) * dx.dim(3);
  const float* g = dy.data<float>();
  const int64_t* am = argmax.data<int64_t>();
  const int64_t* img = batch.data<int64_t>();
  float* d = dx.data<float>();
  std::fill(d, d + n * c * hw, 0.0f);
#pragma omp parallel for schedule(static) if (k * c * bins > 4096)
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t r = 0; r < k; ++r) {
      float* plane = d + (img[r] * c + ch) * hw;
      const int64_t base = (r * c + ch) * bins;
      for (int64_t b = 0; b < bins; ++b)
        if (am[base + b] >= 0) plane[am[base + b]] += g[base + b];
    }
}

}  // namespace

RM_REGISTER_KERNELS(RoiPoolKernels, cpu, {roi_pool_forward_cpu, roi_pool_backward_cpu});

}  // namespace ringmaster::ops
