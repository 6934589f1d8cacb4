// encode_boxes and decode_boxes on CUDA (see BoxCoderKernels in
// box_coder.h): one thread per box, box_coding_one.h's formulas (the CPU's),
// compiled without fused multiply-adds (ops/CMakeLists.txt).
#include "ops/box_coder.h"
#include "ops/cuda/cuda_context.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

__global__ void encode_kernel(const float* boxes, const float* reference, BoxWeights w, int64_t k,
                              float* out, int32_t* status) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < k;
       i += int64_t(blockDim.x) * gridDim.x)
    status[i] = encode_one(boxes + 4 * i, reference + 4 * i, w, out + 4 * i);
}

__global__ void decode_kernel(const float* deltas, const float* reference, BoxWeights w,
                              double clip_w, double clip_h, int64_t k, float* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < k;
       i += int64_t(blockDim.x) * gridDim.x)
    decode_one(deltas + 4 * i, reference + 4 * i, w, clip_w, clip_h, out + 4 * i);
}

void encode_cuda(const Tensor& boxes, const Tensor& reference, const BoxCoding& c,
                 const Tensor& out, const Tensor& status) {
  const int64_t k = boxes.dim(0);
  cuda::set_device(boxes.device().index);
  encode_kernel<<<cuda::blocks_for(k), 256>>>(
      static_cast<const float*>(boxes.raw()), static_cast<const float*>(reference.raw()),
      box_weights(c), k, static_cast<float*>(out.raw()), static_cast<int32_t*>(status.raw()));
  CUDA_CHECK_LAUNCH();
}

void decode_cuda(const Tensor& deltas, const Tensor& reference, const BoxCoding& c, double clip_w,
                 double clip_h, const Tensor& out) {
  const int64_t k = deltas.dim(0);
  cuda::set_device(deltas.device().index);
  decode_kernel<<<cuda::blocks_for(k), 256>>>(
      static_cast<const float*>(deltas.raw()), static_cast<const float*>(reference.raw()),
      box_weights(c), clip_w, clip_h, k, static_cast<float*>(out.raw()));
  CUDA_CHECK_LAUNCH();
}

}  // namespace

RM_REGISTER_KERNELS(BoxCoderKernels, cuda, {encode_cuda, decode_cuda});

}  // namespace ringmaster::ops
