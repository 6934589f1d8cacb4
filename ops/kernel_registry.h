// Per-op kernel tables: each op declares a struct of function pointers (its
// forward and backward kernels); each backend source registers its struct
// with one RM_REGISTER_KERNELS line; the op's device-independent code looks
// the kernels up by the input's device. No central switch to edit when an op
// or a backend is added. Registration happens at load time (ops is a shared
// library, so no registrar is dropped by the linker); lookups are lock-free.
#pragma once

#include <array>

#include "ops/tensor.h"

namespace ringmaster::ops {

template <class Kernels>
class KernelTable {
 public:
  static KernelTable& get() {
    static KernelTable table;
    return table;
  }
  bool set(Device::Kind kind, const Kernels& k) {
    slots_[static_cast<size_t>(kind)] = k;
    present_[static_cast<size_t>(kind)] = true;
    return true;
  }
  // The kernels for device d; throws ops::Error naming the op when the
  // backend has none (e.g. a CUDA tensor in a build without CUDA).
  const Kernels& on(Device d, const char* op) const {
    const size_t i = static_cast<size_t>(d.kind);
    RM_THROW_IF(!present_[i], op, " has no kernels for ", d.str(),
                d.is_cuda() ? " (CUDA backend not built or op not ported)" : "");
    return slots_[i];
  }

 private:
  std::array<Kernels, 2> slots_{};
  std::array<bool, 2> present_{};
};

}  // namespace ringmaster::ops

#define RM_CONCAT_INNER(a, b) a##b
#define RM_CONCAT(a, b) RM_CONCAT_INNER(a, b)
// RM_REGISTER_KERNELS(ReluKernels, cpu, {relu_forward_cpu, relu_backward_cpu});
#define RM_REGISTER_KERNELS(KernelsType, kind, ...)                                \
  [[maybe_unused]] static const bool RM_CONCAT(rm_registered_, __LINE__) =         \
      ::ringmaster::ops::KernelTable<KernelsType>::get().set(                      \
          ::ringmaster::ops::Device::Kind::kind, KernelsType __VA_ARGS__)
