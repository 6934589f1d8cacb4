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

class DropoutBackward : public Node {
 public:
  // Keeps x's shape and layout (not its values); mask: (physical elements) u8.
  DropoutBackward(const Tensor& x, Tensor mask, float scale)
      : shape_(x.shape()),
        dtype_(x.dtype()),
        device_(x.device()),
        format_(x.format()),
        nbytes_(x.nbytes()),
        mask_(std::move(mask)),
        scale_(scale) {}

  std::vector<Tensor> backward(const Tensor& dy) override {
    Tensor dx = format_ ? Tensor::empty_with_format(shape_, dtype_, format_, nbytes_)
                        : Tensor::empty(shape_, dtype_, device_);
    kernels(device_).backward(same_layout_as(dy, dx), mask_, scale_, dx);
    return {dx};
  }
  const char* name() const override { return "DropoutBackward"; }

 private:
  Shape shape_;
  DType dtype_;
  Device device_;
  std::shared_ptr<const MemoryFormat> format_;
  size_t nbytes_;
  Tensor mask_;
  float scale_;
};

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
  return record(y, std::make_shared<DropoutBackward>(x, mask, scale), {x});
}

}  // namespace ringmaster::ops
