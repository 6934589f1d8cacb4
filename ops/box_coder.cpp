// encode_boxes and decode_boxes (see box_coder.h): the checks, then the
// device's kernel (cpu/box_coder_cpu.cpp, cuda/box_coder.cu).
#include "ops/box_coder.h"

#include <algorithm>
#include <string>

#include "ops/box_iou.h"
#include "ops/check.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

void check_pair(const Tensor& a, const Tensor& b, const char* op, const char* a_name) {
  check_box_list(a, op, a_name);
  check_box_list(b, op, "reference");
  RM_THROW_IF(a.dim(0) != b.dim(0), op, ": ", a.dim(0), " ", a_name, " for ", b.dim(0),
              " reference boxes");
}

void check_coding(const BoxCoding& c, const char* op) {
  RM_THROW_IF(!(c.wx > 0) || !(c.wy > 0) || !(c.ww > 0) || !(c.wh > 0) ||
                  !std::isfinite(c.wx * c.wy * c.ww * c.wh) || !(c.max_log_scale > 0),
              op, ": weights (", c.wx, ", ", c.wy, ", ", c.ww, ", ", c.wh, ") and max_log_scale ",
              c.max_log_scale, " must be positive and finite");
}

}  // namespace

Tensor encode_boxes(const Tensor& boxes, const Tensor& reference, const BoxCoding& c) {
  check_pair(boxes, reference, "encode_boxes", "boxes");
  check_coding(c, "encode_boxes");
  const Device d = boxes.device();
  const int64_t k = boxes.dim(0);
  Tensor out = Tensor::empty({k, 4}, DType::f32, d);
  Tensor status = Tensor::empty({k}, DType::i32, d);
  if (k > 0)
    KernelTable<BoxCoderKernels>::get()
        .on(d, "encode_boxes")
        .encode(boxes.to_plain(), reference.to(d).to_plain(), c, out, status);
  const Tensor host_status = status.to(Device::cpu());
  for (int64_t i = 0; i < k; ++i) {
    const int32_t s = host_status.data<int32_t>()[i];
    if (s == kBoxCoded) continue;
    const Tensor box = (s == kReferenceHasNoArea ? reference : boxes).to(Device::cpu()).to_plain();
    const float* b = box.data<float>() + 4 * i;
    const double w = static_cast<double>(b[2]) - b[0], h = static_cast<double>(b[3]) - b[1];
    RM_THROW_IF(s == kReferenceHasNoArea, "encode_boxes: reference box ", i, " is ", w, " x ", h,
                ": no area to measure against");
    RM_THROW_IF(s == kBoxHasNoArea, "encode_boxes: box ", i, " is ", w, " x ", h,
                ": no area (its size has no logarithm)");
  }
  return out.to(Device::cpu());
}

Tensor decode_boxes(const Tensor& deltas, const Tensor& reference, const BoxCoding& c,
                    double clip_w, double clip_h) {
  check_pair(deltas, reference, "decode_boxes", "deltas");
  check_coding(c, "decode_boxes");
  const Device d = deltas.device();
  Tensor out = Tensor::empty({deltas.dim(0), 4}, DType::f32, d);
  if (deltas.dim(0) > 0)
    KernelTable<BoxCoderKernels>::get()
        .on(d, "decode_boxes")
        .decode(deltas.to_plain(), reference.to(d).to_plain(), c, clip_w, clip_h, out);
  return out.to(Device::cpu());
}

}  // namespace ringmaster::ops
