// RoiHeads (see roi_heads.h). Proposals are pooled level by level in one
// order (sorted by level, stable), which the labels and targets share, so
// nothing has to be put back in place.
#include "models/roi_heads.h"

#include <algorithm>
#include <cmath>

#include "models/detection_tensors.h"
#include "models/roi_targets.h"
#include "ops/box_coder.h"
#include "ops/check.h"
#include "ops/concat.h"
#include "ops/roi_align.h"

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

// The RoIs pooled, sorted by level (stably), with each one's level.
struct RoiHeads::Rois {
  LabelledRois rois;
  std::vector<int64_t> level;
  int64_t size() const { return rois.size(); }
  Rois(LabelledRois r, int64_t k_min, int64_t levels) {
    std::vector<int64_t> of(static_cast<size_t>(r.size()));
    for (int64_t i = 0; i < r.size(); ++i)
      of[static_cast<size_t>(i)] = level_of(r.boxes.data() + i * 4, k_min, levels);
    std::vector<int64_t> order(of.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return of[static_cast<size_t>(a)] < of[static_cast<size_t>(b)];
    });
    rois = r.rows(order);
    for (const int64_t i : order) level.push_back(of[static_cast<size_t>(i)]);
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
    const std::vector<float> boxes(r.rois.boxes.begin() + begin * 4,
                                   r.rois.boxes.begin() + end * 4);
    const std::vector<int64_t> image(r.rois.image.begin() + begin, r.rois.image.begin() + end);
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
  const Rois r(sample_rois(proposals, targets, o_.sampling, sampler), k_min, pooled_levels_);
  RM_THROW_IF(r.size() == 0, "roi_heads: no proposals to train on");
  const auto [scores, deltas] = head(levels, r, image_h, image_w);
  return roi_losses(scores, deltas, r.rois, kCoding);
}

ops::Tensor RoiHeads::detect(const std::vector<ops::Tensor>& levels,
                             const std::vector<std::vector<float>>& proposals, int64_t image_h,
                             int64_t image_w) {
  const auto n = static_cast<int64_t>(proposals.size());
  const auto k_min = static_cast<int64_t>(-std::log2(level_scale(levels[0].dim(2), image_h)));
  LabelledRois all;
  for (size_t i = 0; i < proposals.size(); ++i) {
    all.boxes.insert(all.boxes.end(), proposals[i].begin(), proposals[i].end());
    all.image.insert(all.image.end(), proposals[i].size() / 4, static_cast<int64_t>(i));
  }
  all.labels.assign(all.image.size(), 0);
  all.matched.assign(all.boxes.size(), 0.0f);
  const Rois r(std::move(all), k_min, pooled_levels_);
  if (r.size() == 0)
    return detections_from(ops::Tensor::zeros({0, o_.num_classes}), ops::Tensor::zeros({0, 0}), {},
                           {}, n, kCoding, o_.detection, image_h, image_w);
  const auto [scores, deltas] = head(levels, r, image_h, image_w);
  return detections_from(scores, deltas, r.rois.boxes, r.rois.image, n, kCoding, o_.detection,
                         image_h, image_w);
}

}  // namespace ringmaster::models
