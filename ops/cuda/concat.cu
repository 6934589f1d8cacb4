// concat CUDA kernels: the tensors are viewed as (outer, axis, inner) rows of
// bytes and each insert/extract is one strided device-to-device copy
// (cudaMemcpy2DAsync on the default stream); dtype-agnostic. No kernel of
// our own is needed for a pitched copy.
#include "ops/concat.h"
#include "ops/cuda/cuda_context.h"
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
  const size_t row = static_cast<size_t>(part.dim(axis) * inner);         // bytes per row in part
  const size_t whole_row = static_cast<size_t>(whole.dim(axis) * inner);  // bytes per row in whole
  if (row == 0 || outer == 0) return;
  char* p = static_cast<char*>(part.raw());
  char* w = static_cast<char*>(whole.raw()) + offset * inner;
  cuda::set_device(part.device().index);
  if (into_whole) {
    CUDA_CHECK(cudaMemcpy2DAsync(w, whole_row, p, row, row, static_cast<size_t>(outer),
                                 cudaMemcpyDeviceToDevice, 0));
  } else {
    CUDA_CHECK(cudaMemcpy2DAsync(p, row, w, whole_row, row, static_cast<size_t>(outer),
                                 cudaMemcpyDeviceToDevice, 0));
  }
}

void concat_insert_cuda(const Tensor& src, int axis, int64_t offset, const Tensor& dst) {
  copy_block(src, dst, axis, offset, true);
}

void concat_extract_cuda(const Tensor& src, int axis, int64_t offset, const Tensor& dst) {
  copy_block(dst, src, axis, offset, false);
}

}  // namespace

RM_REGISTER_KERNELS(ConcatKernels, cuda, {concat_insert_cuda, concat_extract_cuda});

}  // namespace ringmaster::ops
