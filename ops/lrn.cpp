// local_response_norm: device-independent part (checks, autograd). Kernels:
// cpu/lrn_cpu.cpp, cuda/lrn.cu.
#include "ops/lrn.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
Tensor local_response_norm(const Tensor& x, const LrnParams& p) {
  RM_CHECK(x.defined() && x.ndim() == 4, "local_response_norm input must be (N, C, H, W), got ",
           to_string(x));
  RM_CHECK(is_compute_dtype(x), "local_response_norm needs f32 (or f16 on a GPU), got ",
           to_string(x));
  RM_CHECK(p.size >= 1 && p.size % 2 == 1, "local_response_norm size must be odd, got ", p.size,
           " (PyTorch, ONNX and oneDNN place even windows differently)");
  RM_CHECK(p.alpha >= 0.0f && p.beta >= 0.0f && p.k > 0.0f,
           "local_response_norm needs alpha >= 0, beta >= 0, k > 0; got ", p.alpha, ", ", p.beta,
           ", ", p.k);
  const LrnKernels& k = KernelTable<LrnKernels>::get().on(x.device(), "local_response_norm");
  if (!needs_grad({&x})) return k.forward(x, p, nullptr);
  std::shared_ptr<LrnSaved> saved;
  Tensor y = k.forward(x, p, &saved);
  return record(y,
                backward_node("LrnBackward",
                              [device = x.device(),
                               saved = std::move(saved)](const Tensor& dy) -> std::vector<Tensor> {
                                return {KernelTable<LrnKernels>::get()
                                            .on(device, "local_response_norm")
                                            .backward(*saved, dy)};
                              }),
                {x});
}

}  // namespace ringmaster::ops
