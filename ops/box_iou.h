// box_iou: the intersection over union of every pair of two box lists,
// boxes as x1, y1, x2, y2 with x1 <= x2 and y1 <= y2 (a box the other way
// round has no area). a (A, 4), b (B, 4) f32, any device (computed on a's,
// b brought there) -> (A, B) f32 on the CPU. A pair whose union has no area
// has IoU 0. No gradient (matching and suppression only read it). iou_of is
// the one-pair formula both the matrix and nms use, on either device.
// check_box_list and index_values are what the box ops share in checking
// and reading their inputs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "ops/host_device.h"
#include "ops/tensor.h"

namespace ringmaster::ops {

Tensor box_iou(const Tensor& a, const Tensor& b);

struct BoxIouKernels {
  // out (A, B) f32 on a's device: iou_of every pair (a, b on that device).
  void (*matrix)(const Tensor& a, const Tensor& b, const Tensor& out);
};

// Throws ops::Error "<op>: <what> must be (K, 4) f32 x1, y1, x2, y2, got ..."
// unless t is such a box list (the check every box op makes).
void check_box_list(const Tensor& t, const char* op, const char* what);

// The values of a 1-d i64 or i32 tensor (image indices, classes) on the host.
std::vector<int64_t> index_values(const Tensor& t);

// The RoI ops' image index per box: `batch` (k) i64 or i32, each in [0, n),
// as plain i64 on `device`; throws ops::Error "<op>: box i is on image b,
// outside the batch's [0, n)" (or names a malformed batch).
Tensor checked_box_images(const Tensor& batch, int64_t k, int64_t n, Device device, const char* op);

// The one-pair IoU of both backends, written so that they round alike: the
// comparisons are std::min/std::max's (a NaN coordinate gives a NaN area and
// IoU 0), and the CUDA files that call it compile without fused
// multiply-adds (ops/CMakeLists.txt), which the x86-64 host does not use.
RM_HOST_DEVICE inline float iou_of(const float* a, const float* b) {
  auto nonnegative = [](float v) { return v < 0.0f ? 0.0f : v; };  // std::max(v, 0.0f)
  const float area_a = nonnegative(a[2] - a[0]) * nonnegative(a[3] - a[1]);
  const float area_b = nonnegative(b[2] - b[0]) * nonnegative(b[3] - b[1]);
  const float right = b[2] < a[2] ? b[2] : a[2], left = a[0] < b[0] ? b[0] : a[0];
  const float bottom = b[3] < a[3] ? b[3] : a[3], top = a[1] < b[1] ? b[1] : a[1];
  const float iw = nonnegative(right - left), ih = nonnegative(bottom - top);
  const float inter = iw * ih, uni = area_a + area_b - inter;
  return uni > 0.0f ? inter / uni : 0.0f;
}

}  // namespace ringmaster::ops
