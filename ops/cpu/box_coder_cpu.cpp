// encode_boxes and decode_boxes on the CPU (see BoxCoderKernels in
// box_coder.h): box_coding_one.h's formulas, box after box.
#include "ops/box_coder.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

void encode_cpu(const Tensor& boxes, const Tensor& reference, const BoxCoding& c, const Tensor& out,
                const Tensor& status) {
  const BoxWeights w = box_weights(c);
  for (int64_t i = 0; i < boxes.dim(0); ++i)
    status.data<int32_t>()[i] = encode_one(
        boxes.data<float>() + 4 * i, reference.data<float>() + 4 * i, w, out.data<float>() + 4 * i);
}

void decode_cpu(const Tensor& deltas, const Tensor& reference, const BoxCoding& c, double clip_w,
                double clip_h, const Tensor& out) {
  const BoxWeights w = box_weights(c);
  for (int64_t i = 0; i < deltas.dim(0); ++i)
    decode_one(deltas.data<float>() + 4 * i, reference.data<float>() + 4 * i, w, clip_w, clip_h,
               out.data<float>() + 4 * i);
}

}  // namespace

RM_REGISTER_KERNELS(BoxCoderKernels, cpu, {encode_cpu, decode_cpu});

}  // namespace ringmaster::ops
