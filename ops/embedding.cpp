// embedding: device-independent part (checks, allocation, autograd).
// Kernels: cpu/embedding_cpu.cpp, cuda/embedding.cu.
#include "ops/embedding.h"

#include "ops/autograd.h"
#include "ops/kernel_registry.h"
#include "ops/tensor_like.h"

namespace ringmaster::ops {
namespace {

int64_t index_at(const Tensor& indices, int64_t pos) {
  const Tensor host = indices.to(Device::cpu());
  return host.dtype() == DType::i64 ? host.data<int64_t>()[pos]
                                    : static_cast<int64_t>(host.data<int32_t>()[pos]);
}

}  // namespace

Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx) {
  RM_CHECK(weight.dtype() == DType::f32 && weight.ndim() == 2 && weight.is_plain(),
           "embedding: weight must be a plain (rows, dim) f32 table, got ", to_string(weight));
  RM_CHECK(indices.dtype() == DType::i64 || indices.dtype() == DType::i32,
           "embedding: indices must be i64 or i32, got ", to_string(indices));
  RM_CHECK(indices.device() == weight.device(), "embedding: indices on ", indices.device().str(),
           ", weight on ", weight.device().str());
  const int64_t rows = weight.dim(0), dim = weight.dim(1);
  RM_CHECK(padding_idx >= -1 && padding_idx < rows, "embedding: padding_idx ", padding_idx,
           " is outside [0, ", rows, ") (or -1 for none)");
  const Tensor idx = indices.to_plain();
  const auto& k = KernelTable<EmbeddingKernels>::get().on(weight.device(), "embedding");
  if (const int64_t bad = idx.numel() > 0 ? k.first_outside(idx, rows) : -1; bad >= 0)
    throw Error("embedding: index " + std::to_string(index_at(idx, bad)) + " at position " +
                std::to_string(bad) + " is outside the table's rows [0, " + std::to_string(rows) +
                ")");
  Shape out_shape = idx.shape();
  out_shape.push_back(dim);
  Tensor y = Tensor::empty(out_shape, DType::f32, weight.device());
  k.forward(weight, idx, y);
  if (!needs_grad({&weight})) return y;
  return record(y,
                backward_node("EmbeddingBackward",
                              [idx, rows, dim, padding_idx,
                               device = weight.device()](const Tensor& dy) -> std::vector<Tensor> {
                                Tensor dw = Tensor::empty({rows, dim}, DType::f32, device);
                                KernelTable<EmbeddingKernels>::get()
                                    .on(device, "embedding")
                                    .backward(dy.to_plain(), idx, padding_idx, dw);
                                return {dw};
                              }),
                {weight});
}

}  // namespace ringmaster::ops
