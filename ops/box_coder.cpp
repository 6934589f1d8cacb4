// encode_boxes and decode_boxes (see box_coder.h), on the host.
#include "ops/box_coder.h"

#include <algorithm>
#include <string>

#include "ops/box_iou.h"
#include "ops/check.h"

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

struct Centre {
  double cx, cy, w, h;
};

Centre centre_of(const float* b) {
  const double w = static_cast<double>(b[2]) - b[0], h = static_cast<double>(b[3]) - b[1];
  return {b[0] + 0.5 * w, b[1] + 0.5 * h, w, h};
}

}  // namespace

Tensor encode_boxes(const Tensor& boxes, const Tensor& reference, const BoxCoding& c) {
  check_pair(boxes, reference, "encode_boxes", "boxes");
  check_coding(c, "encode_boxes");
  const Tensor hb = boxes.to(Device::cpu()).to_plain(), hr = reference.to(Device::cpu()).to_plain();
  const int64_t k = hb.dim(0);
  Tensor out = Tensor::empty({k, 4});
  for (int64_t i = 0; i < k; ++i) {
    const Centre g = centre_of(hb.data<float>() + 4 * i), r = centre_of(hr.data<float>() + 4 * i);
    RM_THROW_IF(!(r.w > 0) || !(r.h > 0), "encode_boxes: reference box ", i, " is ", r.w, " x ",
                r.h, ": no area to measure against");
    RM_THROW_IF(!(g.w > 0) || !(g.h > 0), "encode_boxes: box ", i, " is ", g.w, " x ", g.h,
                ": no area (its size has no logarithm)");
    float* d = out.data<float>() + 4 * i;
    d[0] = static_cast<float>(c.wx * (g.cx - r.cx) / r.w);
    d[1] = static_cast<float>(c.wy * (g.cy - r.cy) / r.h);
    d[2] = static_cast<float>(c.ww * std::log(g.w / r.w));
    d[3] = static_cast<float>(c.wh * std::log(g.h / r.h));
  }
  return out;
}

Tensor decode_boxes(const Tensor& deltas, const Tensor& reference, const BoxCoding& c,
                    double clip_w, double clip_h) {
  check_pair(deltas, reference, "decode_boxes", "deltas");
  check_coding(c, "decode_boxes");
  const Tensor hd = deltas.to(Device::cpu()).to_plain(),
               hr = reference.to(Device::cpu()).to_plain();
  const int64_t k = hd.dim(0);
  Tensor out = Tensor::empty({k, 4});
  for (int64_t i = 0; i < k; ++i) {
    const float* d = hd.data<float>() + 4 * i;
    const Centre r = centre_of(hr.data<float>() + 4 * i);
    const double cx = d[0] / c.wx * r.w + r.cx, cy = d[1] / c.wy * r.h + r.cy;
    const double w = std::exp(std::min(d[2] / c.ww, c.max_log_scale)) * r.w;
    const double h = std::exp(std::min(d[3] / c.wh, c.max_log_scale)) * r.h;
    const double box[4] = {cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h};
    for (int j = 0; j < 4; ++j) {
      const double limit = j % 2 == 0 ? clip_w : clip_h;
      out.data<float>()[4 * i + j] =
          static_cast<float>(limit > 0 ? std::clamp(box[j], 0.0, limit) : box[j]);
    }
  }
  return out;
}

}  // namespace ringmaster::ops
