// resize_bilinear: device-independent part (checks, the coordinate formula,
// autograd, the sampling tables). Kernels: cpu/resize_cpu.cpp, cuda/resize.cu.
#include "ops/resize.h"

#include <algorithm>
#include <cmath>

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
double resize_source_coordinate(int64_t i, int64_t in, int64_t out, double scale,
                                ResizeCoordinates mode) {
  const double s = scale > 0.0 ? scale : static_cast<double>(out) / static_cast<double>(in);
  const double di = static_cast<double>(i);
  switch (mode) {
    case ResizeCoordinates::align_corners: {
      // ONNX: the resized length is in * scale, unrounded, when a scale is given.
      const double len = scale > 0.0 ? static_cast<double>(in) * scale : static_cast<double>(out);
      // in * scale <= 1 would divide by zero or a negative length: the edge.
      return out > 1 && len > 1.0 ? di * static_cast<double>(in - 1) / (len - 1.0) : 0.0;
    }
    case ResizeCoordinates::asymmetric:
      return di / s;
    case ResizeCoordinates::pytorch_half_pixel:
      if (out == 1) return 0.0;
      [[fallthrough]];
    case ResizeCoordinates::half_pixel:
      break;
  }
  return std::max((di + 0.5) / s - 0.5, 0.0);
}

std::vector<ResizeTap> resize_taps(int64_t in, int64_t out, double scale, ResizeCoordinates mode) {
  std::vector<ResizeTap> t(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) {
    const double src = resize_source_coordinate(i, in, out, scale, mode);
    const int64_t lo = std::min(static_cast<int64_t>(std::floor(src)), in - 1);
    const int64_t hi = std::min(lo + 1, in - 1);
    const double frac = std::min(std::max(src - static_cast<double>(lo), 0.0), 1.0);
    t[static_cast<size_t>(i)] = {lo, hi, static_cast<float>(frac)};
  }
  return t;
}

Tensor resize_bilinear(const Tensor& x, const ResizeParams& p) {
  RM_CHECK(x.defined() && x.ndim() == 4, "resize_bilinear input must be (N, C, H, W), got ",
           to_string(x));
  RM_CHECK(is_compute_dtype(x), "resize_bilinear needs f32 (or f16 on a GPU), got ", to_string(x));
  RM_CHECK(p.out_h >= 1 && p.out_w >= 1, "resize_bilinear output size must be >= 1, got ", p.out_h,
           "x", p.out_w);
  RM_CHECK(p.scale_h >= 0.0 && p.scale_w >= 0.0, "resize_bilinear scales must be >= 0, got ",
           p.scale_h, " and ", p.scale_w);
  const Tensor xp = x.to_plain();
  Tensor y = Tensor::empty({x.dim(0), x.dim(1), p.out_h, p.out_w}, x.dtype(), x.device());
  KernelTable<ResizeKernels>::get().on(x.device(), "resize_bilinear").forward(xp, p, y);
  if (!needs_grad({&x})) return y;
  return record(y,
                backward_node("ResizeBackward",
                              [shape = x.shape(), dtype = x.dtype(), device = x.device(),
                               p](const Tensor& dy) -> std::vector<Tensor> {
                                Tensor dx = Tensor::empty(shape, dtype, device);  // (N, C, H, W)
                                KernelTable<ResizeKernels>::get()
                                    .on(device, "resize_bilinear")
                                    .backward(dy.to_plain(), p, dx);
                                return {dx};
                              }),
                {x});
}

}  // namespace ringmaster::ops
