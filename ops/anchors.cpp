// make_anchors (see anchors.h): the checks and the base anchors here, the
// grid by the device's kernel (cpu/anchors_cpu.cpp, cuda/anchors.cu).
#include "ops/anchors.h"

#include <cmath>

#include "ops/check.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {

Tensor make_anchors(const AnchorGrid& g, Device device) {
  RM_THROW_IF(g.sizes.empty() || g.ratios.empty(), "anchors: give at least one size and ratio");
  for (double v : g.sizes)
    RM_THROW_IF(!(v > 0) || !std::isfinite(v), "anchors: size ", v, " must be positive");
  for (double v : g.ratios)
    RM_THROW_IF(!(v > 0) || !std::isfinite(v), "anchors: aspect ratio ", v, " must be positive");
  RM_THROW_IF(g.grid_h < 1 || g.grid_w < 1 || g.grid_h * g.grid_w > (int64_t{1} << 24) ||
                  !(g.stride_h > 0) || !(g.stride_w > 0),
              "anchors: a ", g.grid_h, " x ", g.grid_w, " grid with strides ", g.stride_h, ", ",
              g.stride_w, " (cells 1 .. 2^24, strides positive)");
  std::vector<float> base;  // (A, 4)
  for (double r : g.ratios)
    for (double s : g.sizes) {
      const double hr = std::sqrt(r), w = s / hr, h = s * hr;
      for (double v : {-w / 2, -h / 2, w / 2, h / 2})
        base.push_back(static_cast<float>(std::nearbyint(v)));
    }
  const auto a = static_cast<int64_t>(base.size() / 4);
  Tensor out = Tensor::empty({g.grid_h * g.grid_w * a, 4}, DType::f32, device);
  KernelTable<AnchorKernels>::get()
      .on(device, "make_anchors")
      .shift(Tensor::from_vector(base, {a, 4}).to(device), g, out);
  return out;
}

}  // namespace ringmaster::ops
