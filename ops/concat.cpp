// concat: device-independent part (checks, allocation, autograd). Kernels:
// cpu/concat_cpu.cpp. The backward node keeps only the input shapes.
#include "ops/concat.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

const ConcatKernels& kernels(Device d) { return KernelTable<ConcatKernels>::get().on(d, "concat"); }

}  // namespace

Tensor concat(const std::vector<Tensor>& xs, int axis) {
  RM_CHECK(!xs.empty(), "concat of no tensors");
  const Tensor& first = xs[0];
  const int nd = static_cast<int>(first.ndim());
  const int a = axis < 0 ? axis + nd : axis;
  RM_CHECK(a >= 0 && a < nd, "concat axis ", axis, " out of range for ", to_string(first));
  Shape out = first.shape();
  out[static_cast<size_t>(a)] = 0;
  std::vector<Shape> shapes;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    RM_CHECK(x.dtype() == first.dtype() && x.device() == first.device(), "concat input ", i, " is ",
             to_string(x), ", input 0 is ", to_string(first));
    bool same = x.ndim() == nd;
    for (int d = 0; same && d < nd; ++d) same = d == a || x.dim(d) == first.dim(d);
    RM_CHECK(same, "concat on axis ", a, ": input ", i, " has shape ", shape_str(x.shape()),
             ", input 0 has ", shape_str(first.shape()));
    out[static_cast<size_t>(a)] += x.dim(a);
    shapes.push_back(x.shape());
  }
  Tensor y = Tensor::empty(out, first.dtype(), first.device());
  int64_t offset = 0;
  for (const Tensor& x : xs) {
    kernels(first.device()).insert(x.to_plain(), a, offset, y);
    offset += x.dim(a);
  }
  bool any = false;
  for (const Tensor& x : xs) any = any || needs_grad({&x});
  if (!any) return y;
  return record(y,
                backward_node("ConcatBackward",
                              [shapes = std::move(shapes), a](const Tensor& grad,
                                                              const std::vector<Tensor>& inputs) {
                                Tensor dy = grad.to_plain();
                                std::vector<Tensor> dxs(shapes.size());
                                int64_t offset = 0;
                                for (size_t i = 0; i < shapes.size(); ++i) {
                                  if (inputs[i].requires_grad()) {
                                    dxs[i] = Tensor::empty(shapes[i], dy.dtype(), dy.device());
                                    kernels(dy.device()).extract(dy, a, offset, dxs[i]);
                                  }
                                  offset += shapes[i][static_cast<size_t>(a)];
                                }
                                return dxs;
                              }),
                xs);
}

}  // namespace ringmaster::ops
