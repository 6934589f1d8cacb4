// RoiHeads (see roi_heads.h). Proposals are pooled level by level in one
// order (sorted by level, stable), which the labels and targets share, so
// nothing has to be put back in place.
#include "models/roi_heads.h"

#include <algorithm>
#include <cmath>

#include "models/box_regression.h"
#include "models/detection_tensors.h"
#include "ops/box_coder.h"
#include "ops/box_iou.h"
#include "ops/check.h"
#include "ops/concat.h"
#include "ops/nms.h"
#include "ops/roi_align.h"
#include "ops/softmax.h"

namespace ringmaster::models {
namespace {

std::shared_ptr<Linear> normal(std::shared_ptr<Linear> l, float stddev, std::mt19937_64& rng) {
  const ops::Tensor w = ops::Tensor::randn(l->weight.shape(), rng, stddev);
  std::copy_n(w.data<float>(), w.numel(), l->weight.data<float>());
  std::fill_n(l->bias.data<float>(), l->bias.numel(), 0.0f);
  return l;
}

const ops::BoxCoding kCoding{.wx = 10.0, .wy = 10.0, .ww = 5.0, .wh = 5.0};

// The level scale of a map of height h for images of height image_h: the
// power of two nearest to h / image_h (torchvision's MultiScaleRoIAlign).
double level_scale(int64_t h, int64_t image_h) {
  return std::exp2(std::round(std::log2(static_cast<double>(h) / static_cast<double>(image_h))));
}

// Which of `levels` pooled levels a box is pooled from (torchvision's
// LevelMapper: canonical size 224 at level 4, clamped to the levels there
// are); k_min: the finest level's -log2(scale).
int64_t level_of(const float* b, int64_t k_min, int64_t levels) {
  if (levels == 1) return 0;
  const double side =
      std::sqrt(std::max(0.0, static_cast<double>(b[2] - b[0]) * static_cast<double>(b[3] - b[1])));
  const double k = std::floor(4.0 + std::log2(side / 224.0 + 1e-12) + 1e-6);
  return std::clamp(static_cast<int64_t>(k) - k_min, int64_t{0}, levels - 1);
}

}  // namespace

// The boxes pooled, in level order, with what training scores them against.
struct RoiHeads::Rois {
  std::vector<float> boxes;           // (R, 4)
  std::vector<int64_t> image, level;  // (R)
  std::vector<int64_t> labels;        // (R) training: class, 0 background
  std::vector<float> matched;         // (R, 4) training: the matched box (positives)
  int64_t size() const { return static_cast<int64_t>(image.size()); }

  // Sorts every field by level, stably.
  void sort_by_level() {
    std::vector<int64_t> order(image.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return level[static_cast<size_t>(a)] < level[static_cast<size_t>(b)];
    });
    Rois s;
    for (const int64_t i : order) {
      const auto u = static_cast<size_t>(i);
      s.boxes.insert(s.boxes.end(), boxes.begin() + i * 4, boxes.begin() + i * 4 + 4);
      s.image.push_back(image[u]);
      s.level.push_back(level[u]);
      if (!labels.empty()) s.labels.push_back(labels[u]);
      if (!matched.empty())
        s.matched.insert(s.matched.end(), matched.begin() + i * 4, matched.begin() + i * 4 + 4);
    }
    *this = std::move(s);
  }
};

RoiHeads::RoiHeads(int64_t channels, int64_t pooled_levels, RoiHeadsOptions o, std::mt19937_64& rng)
    : o_(o), pooled_levels_(pooled_levels) {
  RM_THROW_IF(o_.num_classes < 2, "roi_heads: ", o_.num_classes,
              " classes (background and at least one)");
  auto box_head = register_module("box_head", std::make_shared<ParameterHolder>());
  const int64_t in = channels * o_.pool * o_.pool, rep = o_.representation_size;
  fc6_ = box_head->register_module(
      "fc6", std::make_shared<Linear>(in, rep, rng, LinearOptions{.fuse_relu = true}));
  fc7_ = box_head->register_module(
      "fc7", std::make_shared<Linear>(rep, rep, rng, LinearOptions{.fuse_relu = true}));
  auto predictor = register_module("box_predictor", std::make_shared<ParameterHolder>());
  cls_score_ = predictor->register_module(
      "cls_score", normal(std::make_shared<Linear>(rep, o_.num_classes, rng), 0.01f, rng));
  bbox_pred_ = predictor->register_module(
      "bbox_pred", normal(std::make_shared<Linear>(rep, 4 * o_.num_classes, rng), 0.001f, rng));
}

ops::Tensor RoiHeads::forward(const ops::Tensor& pooled) {
  return cls_score_->forward(fc7_->forward(fc6_->forward(pooled)));
}

std::pair<ops::Tensor, ops::Tensor> RoiHeads::head(const std::vector<ops::Tensor>& levels,
                                                   const Rois& r, int64_t image_h,
                                                   int64_t image_w) {
  (void)image_w;
  const ops::Device dev = levels[0].device();
  std::vector<ops::Tensor> pooled;
  for (int64_t l = 0, begin = 0; l < pooled_levels_; ++l) {
    int64_t end = begin;
    while (end < r.size() && r.level[static_cast<size_t>(end)] == l) ++end;
    if (end == begin) continue;
    const std::vector<float> boxes(r.boxes.begin() + begin * 4, r.boxes.begin() + end * 4);
    const std::vector<int64_t> image(r.image.begin() + begin, r.image.begin() + end);
    const ops::Tensor& map = levels[static_cast<size_t>(l)];
    ops::RoiAlignParams p{.output_h = o_.pool,
                          .output_w = o_.pool,
                          .spatial_scale = level_scale(map.dim(2), image_h),
                          .sampling_ratio = o_.sampling_ratio,
                          .aligned = false};
    pooled.push_back(
        ops::roi_align(map, f32_tensor(boxes, {end - begin, 4}, dev), i64_tensor(image, dev), p));
    begin = end;
  }
  const ops::Tensor x =
      fc7_->forward(fc6_->forward(pooled.size() == 1 ? pooled[0] : ops::concat(pooled, 0)));
  return {cls_score_->forward(x), bbox_pred_->forward(x)};
}

std::pair<ops::Tensor, ops::Tensor> RoiHeads::losses(
    const std::vector<ops::Tensor>& levels, const std::vector<std::vector<float>>& proposals,
    const std::vector<ImageBoxes>& targets, int64_t image_h, int64_t image_w,
    std::mt19937_64& sampler) {
  const auto k_min = static_cast<int64_t>(-std::log2(level_scale(levels[0].dim(2), image_h)));
  Rois r;
  for (size_t i = 0; i < proposals.size(); ++i) {
    const ImageBoxes& t = targets[i];
    std::vector<float> candidates = proposals[i];  // and the true boxes themselves
    candidates.insert(candidates.end(), t.boxes.begin(), t.boxes.end());
    const auto c = static_cast<int64_t>(candidates.size() / 4);
    std::vector<float> iou;
    if (t.size() > 0 && c > 0)
      iou = ops::box_iou(ops::Tensor::from_vector(candidates, {c, 4}),
                         ops::Tensor::from_vector(t.boxes, {t.size(), 4}))
                .to_vector();
    const std::vector<int64_t> match =
        match_boxes(iou, c, t.size(), o_.fg_iou_thresh, o_.bg_iou_thresh, false);
    const BalancedSample s =
        sample_balanced(match, o_.batch_size_per_image, o_.positive_fraction, sampler);
    for (const auto* set : {&s.positive, &s.negative}) {
      for (const int64_t k : *set) {
        const float* b = candidates.data() + k * 4;
        const int64_t g = match[static_cast<size_t>(k)];
        r.boxes.insert(r.boxes.end(), b, b + 4);
        r.image.push_back(static_cast<int64_t>(i));
        r.level.push_back(level_of(b, k_min, pooled_levels_));
        r.labels.push_back(g >= 0 ? t.classes[static_cast<size_t>(g)] : 0);
        for (int64_t d = 0; d < 4; ++d)
          r.matched.push_back(g >= 0 ? t.boxes[static_cast<size_t>(g * 4 + d)] : 0.0f);
      }
    }
  }
  RM_THROW_IF(r.size() == 0, "roi_heads: no proposals to train on");
  r.sort_by_level();
  const auto [scores, deltas] = head(levels, r, image_h, image_w);
  const ops::Tensor class_loss =
      ops::softmax_cross_entropy(scores, i64_tensor(r.labels, scores.device()));
  std::vector<int64_t> at;
  std::vector<float> boxes, references;
  const int64_t k = o_.num_classes;
  for (int64_t j = 0; j < r.size(); ++j) {
    const int64_t label = r.labels[static_cast<size_t>(j)];
    if (label <= 0) continue;
    RM_THROW_IF(label >= k, "roi_heads: a box of class ", label, " for ", k, " classes");
    for (int64_t d = 0; d < 4; ++d) {
      at.push_back(j * 4 * k + label * 4 + d);
      boxes.push_back(r.matched[static_cast<size_t>(j * 4 + d)]);
      references.push_back(r.boxes[static_cast<size_t>(j * 4 + d)]);
    }
  }
  return {class_loss, box_regression_loss(deltas, at, boxes, references, kCoding,
                                          static_cast<double>(r.size()))};
}

ops::Tensor RoiHeads::detect(const std::vector<ops::Tensor>& levels,
                             const std::vector<std::vector<float>>& proposals, int64_t image_h,
                             int64_t image_w) {
  const auto n = static_cast<int64_t>(proposals.size());
  const int64_t k = o_.num_classes, d = o_.detections_per_img;
  ops::Tensor out = ops::Tensor::zeros({n, d, 6});
  float* o = out.data<float>();
  for (int64_t i = 0; i < n * d; ++i) o[i * 6 + 5] = -1.0f;
  const auto k_min = static_cast<int64_t>(-std::log2(level_scale(levels[0].dim(2), image_h)));
  Rois r;
  for (size_t i = 0; i < proposals.size(); ++i) {
    for (size_t j = 0; j + 4 <= proposals[i].size(); j += 4) {
      r.boxes.insert(r.boxes.end(), proposals[i].begin() + static_cast<int64_t>(j),
                     proposals[i].begin() + static_cast<int64_t>(j + 4));
      r.image.push_back(static_cast<int64_t>(i));
      r.level.push_back(level_of(proposals[i].data() + j, k_min, pooled_levels_));
    }
  }
  if (r.size() == 0) return out;
  r.sort_by_level();
  const auto [scores, deltas] = head(levels, r, image_h, image_w);
  const std::vector<float> p = host_values(ops::softmax(scores, 1));  // (R, K)
  const std::vector<float> dl = host_values(deltas);                  // (R, 4K)
  // Every (roi, class >= 1) pair decoded at once.
  std::vector<float> pair_deltas, pair_refs;
  for (int64_t j = 0; j < r.size(); ++j) {
    for (int64_t c = 1; c < k; ++c) {
      pair_deltas.insert(pair_deltas.end(), dl.begin() + (j * k + c) * 4,
                         dl.begin() + (j * k + c) * 4 + 4);
      pair_refs.insert(pair_refs.end(), r.boxes.begin() + j * 4, r.boxes.begin() + j * 4 + 4);
    }
  }
  const int64_t pairs = r.size() * (k - 1);
  const std::vector<float> decoded =
      ops::decode_boxes(ops::Tensor::from_vector(pair_deltas, {pairs, 4}),
                        ops::Tensor::from_vector(pair_refs, {pairs, 4}), kCoding,
                        static_cast<double>(image_w), static_cast<double>(image_h))
          .to_vector();
  for (int64_t i = 0; i < n; ++i) {
    std::vector<float> boxes, sc;
    std::vector<int64_t> cls;
    for (int64_t j = 0; j < r.size(); ++j) {
      if (r.image[static_cast<size_t>(j)] != i) continue;
      for (int64_t c = 1; c < k; ++c) {
        const float score = p[static_cast<size_t>(j * k + c)];
        const float* b = decoded.data() + (j * (k - 1) + c - 1) * 4;
        if (!(score > o_.score_thresh) || b[2] - b[0] < 1e-2f || b[3] - b[1] < 1e-2f) continue;
        boxes.insert(boxes.end(), b, b + 4);
        sc.push_back(score);
        cls.push_back(c);
      }
    }
    const auto m = static_cast<int64_t>(sc.size());
    if (m == 0) continue;
    const std::vector<int64_t> keep =
        ops::batched_nms(ops::Tensor::from_vector(boxes, {m, 4}), ops::Tensor::from_vector(sc, {m}),
                         i64_tensor(cls, ops::Device::cpu()),
                         ops::NmsOptions{.iou_threshold = o_.nms_thresh, .max_output = d});
    for (size_t q = 0; q < keep.size(); ++q) {
      float* row = o + (i * d + static_cast<int64_t>(q)) * 6;
      std::copy_n(boxes.begin() + keep[q] * 4, 4, row);
      row[4] = sc[static_cast<size_t>(keep[q])];
      row[5] = static_cast<float>(cls[static_cast<size_t>(keep[q])]);
    }
  }
  return out;
}

}  // namespace ringmaster::models
