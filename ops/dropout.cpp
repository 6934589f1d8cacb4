// dropout: device-independent part (checks, allocation, autograd). Kernels:
// cpu/dropout_cpu.cpp. Backward keeps the u8 mask and x's layout, not x.
#include "ops/dropout.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

const DropoutKernels& kernels(Device d) {
  return KernelTable<DropoutKernels>::get().on(d, "dropout");
}

}  // namespace

Tensor dropout(const Tensor& x, float p, bool training, uint64_t seed) {
  RM_CHECK(is_compute_dtype(x), "dropout needs f32 (or f16 on a GPU), got ", to_string(x));
  RM_CHECK(p >= 0.0f && p <= 1.0f, "dropout probability must be in [0, 1], got ", p);
  if (!training || p == 0.0f) return x;
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  Tensor y = empty_like(x);
  Tensor mask = Tensor::empty({physical_numel(x)}, DType::u8, x.device());
  kernels(x.device()).forward(x, p, scale, seed, mask, y);
  if (!needs_grad({&x})) return y;
  // The gradient keeps x's shape and layout (not its values); mask:
  // (physical elements) u8.
  return record(
      y,
      backward_node("DropoutBackward",
                    [shape = x.shape(), dtype = x.dtype(), device = x.device(), format = x.format(),
                     nbytes = x.nbytes(), mask, scale](const Tensor& dy) -> std::vector<Tensor> {
                      Tensor dx = format ? Tensor::empty_with_format(shape, dtype, format, nbytes)
                                         : Tensor::empty(shape, dtype, device);
                      kernels(device).backward(same_layout_as(dy, dx), mask, scale, dx);
                      return {dx};
                    }),
      {x});
}

}  // namespace ringmaster::ops
