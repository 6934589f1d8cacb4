// nms and batched_nms (see nms.h): a stable sort by score, then each
// candidate against the boxes kept so far; or, for boxes on a GPU, one pass
// over the device's overlap matrix.
#include "ops/nms.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "ops/box_iou.h"
#include "ops/check.h"
#include "ops/kernel_registry.h"

namespace ringmaster::ops {
namespace {

void check_inputs(const Tensor& boxes, const Tensor& scores, const char* op) {
  check_box_list(boxes, op, "boxes");
  RM_THROW_IF(!scores.defined() || scores.dtype() != DType::f32 || scores.ndim() != 1 ||
                  scores.dim(0) != boxes.dim(0),
              op, ": scores must be (", boxes.dim(0), ") f32, one per box, got ",
              scores.defined() ? to_string(scores) : std::string("nothing"));
}

void check_options(const NmsOptions& o, const char* op) {
  RM_THROW_IF(!(o.iou_threshold >= 0.0 && o.iou_threshold <= 1.0), op, ": iou_threshold ",
              o.iou_threshold, " is outside [0, 1]");
}

// Indices of `members` kept by greedy suppression, best first.
std::vector<int64_t> suppress(const float* box, const float* score, std::vector<int64_t> members,
                              const NmsOptions& o) {
  std::erase_if(members, [&](int64_t i) {
    return !(static_cast<double>(score[i]) > o.score_threshold);  // NaN scores never enter
  });
  std::stable_sort(members.begin(), members.end(),
                   [&](int64_t a, int64_t b) { return score[a] > score[b]; });
  std::vector<int64_t> kept;
  for (int64_t i : members) {
    if (o.max_output > 0 && static_cast<int64_t>(kept.size()) == o.max_output) break;
    const bool overlaps = std::any_of(kept.begin(), kept.end(), [&](int64_t j) {
      return static_cast<double>(iou_of(box + 4 * i, box + 4 * j)) > o.iou_threshold;
    });
    if (!overlaps) kept.push_back(i);
  }
  return kept;
}

Tensor i64_on(const std::vector<int64_t>& v, Device d) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())}, DType::i64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t.to(d);
}

// The candidates (score above the threshold, NaN never) best first, ties
// to the lower index: the order both paths visit them in.
std::vector<int64_t> candidates_in_order(const Tensor& host_scores, double score_threshold) {
  const float* score = host_scores.data<float>();
  std::vector<int64_t> order;
  for (int64_t i = 0; i < host_scores.dim(0); ++i)
    if (static_cast<double>(score[i]) > score_threshold) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return score[a] > score[b]; });
  return order;
}

// One pass over the overlap matrix of `order`'s candidates: a candidate is
// kept unless a kept one before it overlaps it.
std::vector<int64_t> walk_overlap_mask(const Tensor& boxes, const std::vector<int64_t>& order,
                                       const Tensor& classes, const NmsOptions& o) {
  const auto m = static_cast<int64_t>(order.size());
  if (m == 0) return {};
  const int64_t words = (m + 63) / 64;
  const Device d = boxes.device();
  const Tensor order_t = i64_on(order, d);
  const Tensor mask = Tensor::empty({m, words}, DType::i64, d);
  KernelTable<NmsKernels>::get().on(d, "nms").overlap_mask(boxes, order_t, classes, o.iou_threshold,
                                                           mask);
  const Tensor host_mask = mask.to(Device::cpu());
  const auto* bits = reinterpret_cast<const uint64_t*>(host_mask.data<int64_t>());
  std::vector<uint64_t> removed(static_cast<size_t>(words), 0);
  std::vector<int64_t> kept;
  for (int64_t r = 0; r < m; ++r) {
    if ((removed[static_cast<size_t>(r / 64)] >> (r % 64)) & 1u) continue;
    kept.push_back(order[static_cast<size_t>(r)]);
    if (o.max_output > 0 && static_cast<int64_t>(kept.size()) == o.max_output) break;
    for (int64_t w = r / 64; w < words; ++w) removed[static_cast<size_t>(w)] |= bits[r * words + w];
  }
  return kept;
}

void check_classes(const Tensor& classes, int64_t k, const char* op) {
  RM_THROW_IF(!classes.defined() || classes.ndim() != 1 || classes.dim(0) != k ||
                  (classes.dtype() != DType::i64 && classes.dtype() != DType::i32),
              op, ": classes must be (", k, ") i64 or i32, got ",
              classes.defined() ? to_string(classes) : std::string("nothing"));
}

}  // namespace

std::vector<int64_t> nms_by_overlap_mask(const Tensor& boxes, const Tensor& scores,
                                         const Tensor& classes, const NmsOptions& o) {
  const char* op = classes.defined() ? "batched_nms" : "nms";
  check_inputs(boxes, scores, op);
  check_options(o, op);
  Tensor class_ids;
  if (classes.defined()) {
    check_classes(classes, boxes.dim(0), op);
    class_ids = i64_on(index_values(classes), boxes.device());
  }
  const std::vector<int64_t> order =
      candidates_in_order(scores.to(Device::cpu()).to_plain(), o.score_threshold);
  return walk_overlap_mask(boxes.to_plain(), order, class_ids, o);
}

std::vector<int64_t> nms(const Tensor& boxes, const Tensor& scores, const NmsOptions& o) {
  if (boxes.defined() && boxes.device().is_cuda()) return nms_by_overlap_mask(boxes, scores, {}, o);
  check_inputs(boxes, scores, "nms");
  check_options(o, "nms");
  const Tensor hb = boxes.to(Device::cpu()).to_plain(), hs = scores.to(Device::cpu()).to_plain();
  std::vector<int64_t> all(static_cast<size_t>(hb.dim(0)));
  std::iota(all.begin(), all.end(), int64_t{0});
  return suppress(hb.data<float>(), hs.data<float>(), std::move(all), o);
}

std::vector<int64_t> batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& classes,
                                 const NmsOptions& o) {
  if (boxes.defined() && boxes.device().is_cuda()) {
    RM_THROW_IF(!classes.defined(), "batched_nms: classes must be (", boxes.dim(0),
                ") i64 or i32, got nothing");
    return nms_by_overlap_mask(boxes, scores, classes, o);
  }
  check_inputs(boxes, scores, "batched_nms");
  check_options(o, "batched_nms");
  check_classes(classes, boxes.dim(0), "batched_nms");
  const Tensor hb = boxes.to(Device::cpu()).to_plain(), hs = scores.to(Device::cpu()).to_plain();
  const std::vector<int64_t> cls = index_values(classes);
  const int64_t k = hb.dim(0);
  const auto class_of = [&](int64_t i) { return cls[static_cast<size_t>(i)]; };
  std::vector<int64_t> order(static_cast<size_t>(k));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return class_of(a) < class_of(b); });
  NmsOptions per_class = o;
  per_class.max_output = 0;
  std::vector<int64_t> kept;
  for (size_t start = 0; start < order.size();) {
    size_t end = start;
    while (end < order.size() && class_of(order[end]) == class_of(order[start])) ++end;
    std::vector<int64_t> members(order.begin() + static_cast<std::ptrdiff_t>(start),
                                 order.begin() + static_cast<std::ptrdiff_t>(end));
    std::sort(members.begin(), members.end());  // index order: ties go to the lower index
    const std::vector<int64_t> k_class =
        suppress(hb.data<float>(), hs.data<float>(), members, per_class);
    kept.insert(kept.end(), k_class.begin(), k_class.end());
    start = end;
  }
  const float* s = hs.data<float>();
  std::stable_sort(kept.begin(), kept.end(),
                   [&](int64_t a, int64_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
  if (o.max_output > 0 && static_cast<int64_t>(kept.size()) > o.max_output)
    kept.resize(static_cast<size_t>(o.max_output));
  return kept;
}

}  // namespace ringmaster::ops
