// box_iou (see box_iou.h): the device's kernel (rows in parallel on the
// CPU: cpu/box_iou_cpu.cpp); the box ops' input helpers.
#include "ops/box_iou.h"

#include <string>

#include "ops/check.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {

void check_box_list(const Tensor& t, const char* op, const char* what) {
  RM_THROW_IF(!t.defined() || t.dtype() != DType::f32 || t.ndim() != 2 || t.dim(1) != 4, op, ": ",
              what, " must be (K, 4) f32 x1, y1, x2, y2, got ",
              t.defined() ? to_string(t) : std::string("nothing"));
}

std::vector<int64_t> index_values(const Tensor& t) {
  RM_CHECK(t.ndim() == 1 && (t.dtype() == DType::i64 || t.dtype() == DType::i32),
           "index_values: want 1-d i64 or i32, got ", to_string(t));
  const Tensor host = t.to(Device::cpu()).to_plain();
  if (host.dtype() == DType::i64)
    return {host.data<int64_t>(), host.data<int64_t>() + host.numel()};
  return {host.data<int32_t>(), host.data<int32_t>() + host.numel()};
}

Tensor checked_box_images(const Tensor& batch, int64_t k, int64_t n, Device device,
                          const char* op) {
  RM_THROW_IF(!batch.defined() || batch.ndim() != 1 || batch.dim(0) != k ||
                  (batch.dtype() != DType::i64 && batch.dtype() != DType::i32),
              op, ": batch must be (", k, ") i64 or i32, one image index per box; got ",
              batch.defined() ? to_string(batch) : std::string("nothing"));
  const std::vector<int64_t> images = index_values(batch);
  Tensor idx = Tensor::empty({k}, DType::i64);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t b = images[static_cast<size_t>(i)];
    RM_THROW_IF(b < 0 || b >= n, op, ": box ", i, " is on image ", b, ", outside the batch's [0, ",
                n, ")");
    idx.data<int64_t>()[i] = b;
  }
  return idx.to(device);
}

Tensor box_iou(const Tensor& a, const Tensor& b) {
  check_box_list(a, "box_iou", "boxes");
  check_box_list(b, "box_iou", "boxes");
  const Device d = a.device();
  const Tensor on_a = a.to_plain(), on_b = b.to(d).to_plain();
  Tensor out = Tensor::empty({a.dim(0), b.dim(0)}, DType::f32, d);
  if (out.numel() > 0) KernelTable<BoxIouKernels>::get().on(d, "box_iou").matrix(on_a, on_b, out);
  return out.to(Device::cpu());
}

}  // namespace ringmaster::ops
