// The backward node of an op with inputs (x, w, b) whose kernel table's
// backward(saved, dy, dx*, dw*, db*) computes only the gradients it is given
// somewhere to put (convolution, transposed convolution): the ones whose
// input is defined and requires grad. Shared so that such ops record the
// same node; each keeps its own Saved type and kernel table.
#pragma once

#include <memory>
#include <vector>

#include "ops/autograd.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {

// node_name and op must be string literals (they outlive the node).
template <class Kernels, class Saved>
std::shared_ptr<Node> weighted_backward(const char* node_name, const char* op, Device device,
                                        std::shared_ptr<Saved> saved) {
  return backward_node(node_name, [op, device, saved = std::move(saved)](
                                      const Tensor& dy, const std::vector<Tensor>& inputs) {
    std::vector<Tensor> grads(3);
    Tensor* want[3];
    for (size_t i = 0; i < 3; ++i)
      want[i] = inputs[i].defined() && inputs[i].requires_grad() ? &grads[i] : nullptr;
    KernelTable<Kernels>::get().on(device, op).backward(*saved, dy, want[0], want[1], want[2]);
    return grads;
  });
}

}  // namespace ringmaster::ops
