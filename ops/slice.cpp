// slice / crop2d: checks, allocation and autograd; the copies are concat's
// kernels (extract forward, insert backward).
#include "ops/slice.h"

#include "ops/autograd.h"
#include "ops/concat.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

const ConcatKernels& kernels(Device d) { return KernelTable<ConcatKernels>::get().on(d, "slice"); }

}  // namespace

Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end) {
  RM_CHECK(x.defined(), "slice of an undefined tensor");
  const int nd = static_cast<int>(x.ndim());
  const int a = axis < 0 ? axis + nd : axis;
  RM_CHECK(a >= 0 && a < nd, "slice axis ", axis, " out of range for ", to_string(x));
  RM_CHECK(0 <= start && start <= end && end <= x.dim(a), "slice [", start, ", ", end,
           ") out of range for dimension ", a, " of ", to_string(x));
  Shape out = x.shape();
  out[static_cast<size_t>(a)] = end - start;
  Tensor y = Tensor::empty(out, x.dtype(), x.device());
  if (y.numel() > 0) kernels(x.device()).extract(x.to_plain(), a, start, y);
  if (!needs_grad({&x})) return y;
  return record(
      y,
      backward_node("SliceBackward",
                    [shape = x.shape(), a, start](const Tensor& grad) -> std::vector<Tensor> {
                      Tensor dy = grad.to_plain();
                      Tensor dx = Tensor::zeros(shape, dy.dtype(), dy.device());  // zero outside
                      kernels(dy.device()).insert(dy, a, start, dx);
                      return {dx};
                    }),
      {x});
}

Tensor crop2d(const Tensor& x, int64_t top, int64_t left, int64_t h, int64_t w) {
  RM_CHECK(x.defined() && x.ndim() == 4, "crop2d input must be (N, C, H, W), got ", to_string(x));
  Tensor rows = top == 0 && h == x.dim(2) ? x : slice(x, 2, top, top + h);
  return left == 0 && w == x.dim(3) ? rows : slice(rows, 3, left, left + w);
}

}  // namespace ringmaster::ops
