// resize_bilinear: device-independent part (checks, the coordinate formula,
// autograd). Kernels: cpu/resize_cpu.cpp.
#include "ops/resize.h"

#include <algorithm>

#include "ops/autograd.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

class ResizeBackward : public Node {
 public:
  ResizeBackward(Shape x_shape, Device device, ResizeParams p)
      : x_shape_(std::move(x_shape)), device_(device), p_(p) {}
  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = Tensor::empty(x_shape_, DType::f32, device_);  // (N, C, H, W)
    KernelTable<ResizeKernels>::get()
        .on(device_, "resize_bilinear")
        .backward(dy.to_plain(), p_, dx);
    return {dx};
  }
  const char* name() const override { return "ResizeBackward"; }

 private:
  Shape x_shape_;
  Device device_;
  ResizeParams p_;
};

}  // namespace

double resize_source_coordinate(int64_t i, int64_t in, int64_t out, double scale,
                                ResizeCoordinates mode) {
  const double s = scale > 0.0 ? scale : static_cast<double>(out) / static_cast<double>(in);
  const double di = static_cast<double>(i);
  switch (mode) {
    case ResizeCoordinates::align_corners: {
      // ONNX: the resized length is in * scale, unrounded, when a scale is given.
      const double len = scale > 0.0 ? static_cast<double>(in) * scale : static_cast<double>(out);
      return out > 1 ? di * static_cast<double>(in - 1) / (len - 1.0) : 0.0;
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

Tensor resize_bilinear(const Tensor& x, const ResizeParams& p) {
  RM_CHECK(x.defined() && x.ndim() == 4, "resize_bilinear input must be (N, C, H, W), got ",
           to_string(x));
  RM_CHECK(x.dtype() == DType::f32, "resize_bilinear needs f32, got ", to_string(x));
  RM_CHECK(p.out_h >= 1 && p.out_w >= 1, "resize_bilinear output size must be >= 1, got ", p.out_h,
           "x", p.out_w);
  RM_CHECK(p.scale_h >= 0.0 && p.scale_w >= 0.0, "resize_bilinear scales must be >= 0, got ",
           p.scale_h, " and ", p.scale_w);
  const Tensor xp = x.to_plain();
  Tensor y = Tensor::empty({x.dim(0), x.dim(1), p.out_h, p.out_w}, DType::f32, x.device());
  KernelTable<ResizeKernels>::get().on(x.device(), "resize_bilinear").forward(xp, p, y);
  if (!needs_grad({&x})) return y;
  return record(y, std::make_shared<ResizeBackward>(x.shape(), x.device(), p), {x});
}

}  // namespace ringmaster::ops
