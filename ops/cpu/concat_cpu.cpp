// concat CPU kernels: the tensors are viewed as (outer, axis, inner) and each
// outer row is one memcpy of (len * inner) elements; dtype-agnostic (bytes).
#include <cstring>

#include "ops/concat.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

// Copies the (outer, part, inner) block between a tensor with `part` along
// axis and one with `whole`, starting at `offset` in the whole.
void copy_block(const Tensor& part, const Tensor& whole, int axis, int64_t offset,
                bool into_whole) {
  int64_t outer = 1, inner = static_cast<int64_t>(dtype_size(part.dtype()));
  for (int d = 0; d < axis; ++d) outer *= part.dim(d);
  for (int d = axis + 1; d < part.ndim(); ++d) inner *= part.dim(d);
  const int64_t row = part.dim(axis) * inner;         // bytes per outer row in part
  const int64_t whole_row = whole.dim(axis) * inner;  // bytes per outer row in whole
  char* p = static_cast<char*>(part.raw());
  char* w = static_cast<char*>(whole.raw()) + offset * inner;
  if (row == 0) return;
#pragma omp parallel for schedule(static)
  for (int64_t o = 0; o < outer; ++o) {
    if (into_whole) {
      std::memcpy(w + o * whole_row, p + o * row, static_cast<size_t>(row));
    } else {
      std::memcpy(p + o * row, w + o * whole_row, static_cast<size_t>(row));
    }
  }
}

void concat_insert_cpu(const Tensor& src, int axis, int64_t offset, const Tensor& dst) {
  copy_block(src, dst, axis, offset, true);
}

void concat_extract_cpu(const Tensor& src, int axis, int64_t offset, const Tensor& dst) {
  copy_block(dst, src, axis, offset, false);
}

}  // namespace

RM_REGISTER_KERNELS(ConcatKernels, cpu, {concat_insert_cpu, concat_extract_cpu});

}  // namespace ringmaster::ops
