// Box regression targets as Faster R-CNN writes them (torchvision's
// BoxCoder): a box relative to a reference box (an anchor or a proposal),
//   dx = wx (cx - cx_r) / w_r,  dy = wy (cy - cy_r) / h_r,
//   dw = ww log(w / w_r),       dh = wh log(h / h_r),
// centres and sizes from x1, y1, x2, y2 (w = x2 - x1). decode inverts it,
// with dw and dh clamped at max_log_scale (log(1000 / 16), torchvision's
// default, so exp cannot overflow) and the boxes clipped to an image of
// clip_w x clip_h when those are > 0. Tensors (K, 4) f32, any device
// (computed on the first one's, the reference brought there); the results
// are on the CPU. No gradient: the losses compare deltas.
#pragma once

#include <cmath>

#include "ops/box_coding_one.h"
#include "ops/tensor.h"

namespace ringmaster::ops {

struct BoxCoding {
  double wx = 1.0, wy = 1.0, ww = 1.0, wh = 1.0;
  double max_log_scale = std::log(1000.0 / 16.0);
};

// The deltas that take each reference box to its box (both (K, 4)). A
// reference box without area has no defined deltas: an Error names it.
Tensor encode_boxes(const Tensor& boxes, const Tensor& reference, const BoxCoding& c);
// The boxes the deltas give from the reference boxes.
Tensor decode_boxes(const Tensor& deltas, const Tensor& reference, const BoxCoding& c,
                    double clip_w = 0.0, double clip_h = 0.0);

struct BoxCoderKernels {
  // out (K, 4) f32 and status (K) i32 (box_coding_one.h's BoxCodeStatus) on
  // boxes' device.
  void (*encode)(const Tensor& boxes, const Tensor& reference, const BoxCoding& c,
                 const Tensor& out, const Tensor& status);
  // out (K, 4) f32 on deltas' device.
  void (*decode)(const Tensor& deltas, const Tensor& reference, const BoxCoding& c, double clip_w,
                 double clip_h, const Tensor& out);
};

// The weights of c as the one-box formulas take them.
inline BoxWeights box_weights(const BoxCoding& c) {
  return {c.wx, c.wy, c.ww, c.wh, c.max_log_scale};
}

}  // namespace ringmaster::ops
