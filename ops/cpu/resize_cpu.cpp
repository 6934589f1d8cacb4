// resize_bilinear CPU kernels: per-axis tables of (low index, high index,
// weight of high) built once per call (resize_taps), then one pass per (n, c) plane,
// planes in parallel. Backward scatters dy into dx with the same weights
// (each plane is owned by one thread, so no atomics). Plain layouts only;
// oneDNN's resampling is not used because it has no align_corners.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "ops/kernel_registry.h"
#include "ops/resize.h"

namespace ringmaster::ops {
namespace {

using Tap = ResizeTap;

void resize_forward_cpu(const Tensor& x, const ResizeParams& p, const Tensor& y) {
  const int64_t planes = x.dim(0) * x.dim(1), h = x.dim(2), w = x.dim(3);
  const int64_t oh = p.out_h, ow = p.out_w;
  const std::vector<Tap> ty = resize_taps(h, oh, p.scale_h, p.coordinates);
  const std::vector<Tap> tx = resize_taps(w, ow, p.scale_w, p.coordinates);
  const float* in = x.data<float>();
  float* out = y.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    const float* src = in + pl * h * w;  // (H, W)
    float* dst = out + pl * oh * ow;     // (OH, OW)
    for (int64_t i = 0; i < oh; ++i) {
      const Tap& a = ty[static_cast<size_t>(i)];
      const float* r0 = src + a.lo * w;
      const float* r1 = src + a.hi * w;
      for (int64_t j = 0; j < ow; ++j) {
        const Tap& b = tx[static_cast<size_t>(j)];
        const float top = r0[b.lo] + (r0[b.hi] - r0[b.lo]) * b.w_hi;
        const float bottom = r1[b.lo] + (r1[b.hi] - r1[b.lo]) * b.w_hi;
        dst[i * ow + j] = top + (bottom - top) * a.w_hi;
      }
    }
  }
}

void resize_backward_cpu(const Tensor& dy, const ResizeParams& p, const Tensor& dx) {
  const int64_t planes = dx.dim(0) * dx.dim(1), h = dx.dim(2), w = dx.dim(3);
  const int64_t oh = p.out_h, ow = p.out_w;
  const std::vector<Tap> ty = resize_taps(h, oh, p.scale_h, p.coordinates);
  const std::vector<Tap> tx = resize_taps(w, ow, p.scale_w, p.coordinates);
  const float* g = dy.data<float>();
  float* out = dx.data<float>();
#pragma omp parallel for schedule(static)
  for (int64_t pl = 0; pl < planes; ++pl) {
    float* d = out + pl * h * w;         // (H, W)
    const float* gp = g + pl * oh * ow;  // (OH, OW)
    std::memset(d, 0, static_cast<size_t>(h * w) * sizeof(float));
    for (int64_t i = 0; i < oh; ++i) {
      const Tap& a = ty[static_cast<size_t>(i)];
      for (int64_t j = 0; j < ow; ++j) {
        const Tap& b = tx[static_cast<size_t>(j)];
        const float v = gp[i * ow + j];
        const float v1 = v * a.w_hi, v0 = v - v1;  // rows lo, hi
        d[a.lo * w + b.lo] += v0 * (1.0f - b.w_hi);
        d[a.lo * w + b.hi] += v0 * b.w_hi;
        d[a.hi * w + b.lo] += v1 * (1.0f - b.w_hi);
        d[a.hi * w + b.hi] += v1 * b.w_hi;
      }
    }
  }
}

}  // namespace

RM_REGISTER_KERNELS(ResizeKernels, cpu, {resize_forward_cpu, resize_backward_cpu});

}  // namespace ringmaster::ops
