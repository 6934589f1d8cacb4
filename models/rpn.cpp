// RegionProposalNetwork (see rpn.h). The head's outputs stay in their
// (N, A, h, w) and (N, 4A, h, w) layouts: proposals read them on the host,
// and the losses pick the drawn anchors' elements by flat index
// (pick_elements), so nothing is permuted.
#include "models/rpn.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "models/box_regression.h"
#include "models/detection_tensors.h"
#include "ops/anchors.h"
#include "ops/bce_with_logits.h"
#include "ops/box_coder.h"
#include "ops/box_iou.h"
#include "ops/check.h"
#include "ops/concat.h"
#include "ops/nms.h"
#include "ops/relu.h"
#include "ops/smooth_l1.h"

namespace ringmaster::models {
namespace {

std::shared_ptr<Conv2d> small_normal(std::shared_ptr<Conv2d> c, std::mt19937_64& rng) {
  const ops::Tensor w = ops::Tensor::randn(c->weight.shape(), rng, 0.01f);
  std::copy_n(w.data<float>(), w.numel(), c->weight.data<float>());
  std::fill_n(c->bias.data<float>(), c->bias.numel(), 0.0f);
  return c;
}

// The k best of `scores` (descending; ties: the lower index first).
std::vector<int64_t> top_k(const std::vector<float>& scores, int64_t k) {
  std::vector<int64_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), int64_t{0});
  k = std::min<int64_t>(k, static_cast<int64_t>(idx.size()));
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int64_t a, int64_t b) {
    const float sa = scores[static_cast<size_t>(a)], sb = scores[static_cast<size_t>(b)];
    return sa > sb || (sa == sb && a < b);
  });
  idx.resize(static_cast<size_t>(k));
  return idx;
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

// One level's head outputs, on the device and on the host.
struct RegionProposalNetwork::LevelOutputs {
  ops::Tensor objectness, deltas;                      // (N, A, h, w), (N, 4A, h, w)
  std::vector<float> objectness_h, deltas_h, anchors;  // anchors (h w A, 4), cell-major
  int64_t h = 0, w = 0;
  int64_t objectness_offset = 0, deltas_offset = 0;  // in the concatenated columns
  int64_t anchor_offset = 0;                         // in an image's anchors
};

RegionProposalNetwork::RegionProposalNetwork(int64_t channels, RpnOptions o, std::mt19937_64& rng)
    : o_(std::move(o)) {
  RM_THROW_IF(o_.sizes.empty() || o_.ratios.empty(), "rpn: no anchor sizes or ratios");
  for (const auto& s : o_.sizes)
    RM_THROW_IF(s.size() != o_.sizes[0].size(), "rpn: every level needs as many anchor sizes");
  const int64_t a = anchors_per_cell();
  auto head = register_module("head", std::make_shared<ParameterHolder>());
  auto conv = head->register_module("conv", std::make_shared<Sequential>());
  auto block = conv->add("0", std::make_shared<Sequential>());
  conv_ = block->add("0", small_normal(std::make_shared<Conv2d>(channels, channels, 3, rng,
                                                                Conv2dOptions{.padding = 1}),
                                       rng));
  cls_logits_ = head->register_module(
      "cls_logits", small_normal(std::make_shared<Conv2d>(channels, a, 1, rng), rng));
  bbox_pred_ = head->register_module(
      "bbox_pred", small_normal(std::make_shared<Conv2d>(channels, 4 * a, 1, rng), rng));
}

int64_t RegionProposalNetwork::anchors_per_cell() const {
  return static_cast<int64_t>(o_.sizes[0].size() * o_.ratios.size());
}

ops::Tensor RegionProposalNetwork::forward(const ops::Tensor& x) {
  return cls_logits_->forward(ops::relu(conv_->forward(x)));
}

std::vector<float> RegionProposalNetwork::anchors_of(int64_t level, int64_t h, int64_t w,
                                                     int64_t image_h, int64_t image_w) const {
  ops::AnchorGrid g;
  g.sizes = o_.sizes[static_cast<size_t>(level)];
  g.ratios = o_.ratios;
  g.grid_h = h;
  g.grid_w = w;
  g.stride_h = static_cast<double>(image_h / h);  // torchvision: integer division
  g.stride_w = static_cast<double>(image_w / w);
  return ops::make_anchors(g).to_vector();
}

RegionProposalNetwork::Output RegionProposalNetwork::run(const std::vector<ops::Tensor>& levels,
                                                         int64_t image_h, int64_t image_w,
                                                         const std::vector<ImageBoxes>* targets,
                                                         std::mt19937_64* sampler) {
  RM_THROW_IF(levels.size() != o_.sizes.size(), "rpn: ", levels.size(), " feature levels for ",
              o_.sizes.size(), " levels of anchor sizes");
  const int64_t n = levels[0].dim(0), a = anchors_per_cell();
  std::vector<LevelOutputs> out(levels.size());
  int64_t obj_total = 0, del_total = 0, anchor_total = 0;
  for (size_t l = 0; l < levels.size(); ++l) {
    LevelOutputs& o = out[l];
    const ops::Tensor t = ops::relu(conv_->forward(levels[l]));
    o.objectness = cls_logits_->forward(t);
    o.deltas = bbox_pred_->forward(t);
    o.h = levels[l].dim(2);
    o.w = levels[l].dim(3);
    o.objectness_h = host_values(o.objectness);
    o.deltas_h = host_values(o.deltas);
    o.anchors = anchors_of(static_cast<int64_t>(l), o.h, o.w, image_h, image_w);
    o.objectness_offset = obj_total;
    o.deltas_offset = del_total;
    o.anchor_offset = anchor_total;
    obj_total += n * a * o.h * o.w;
    del_total += n * 4 * a * o.h * o.w;
    anchor_total += a * o.h * o.w;
  }
  Output result;
  const bool training = targets != nullptr;
  for (int64_t i = 0; i < n; ++i)
    result.proposals.push_back(proposals_of(out, i, image_h, image_w, training));
  if (training) losses(out, *targets, *sampler, anchor_total, result);
  return result;
}

std::vector<float> RegionProposalNetwork::proposals_of(const std::vector<LevelOutputs>& levels,
                                                       int64_t i, int64_t image_h, int64_t image_w,
                                                       bool training) const {
  const int64_t a = anchors_per_cell();
  const int64_t pre = training ? o_.pre_nms_top_n_train : o_.pre_nms_top_n_test;
  const int64_t post = training ? o_.post_nms_top_n_train : o_.post_nms_top_n_test;
  std::vector<float> deltas, anchors, scores;
  std::vector<int64_t> level_of;
  for (size_t l = 0; l < levels.size(); ++l) {
    const LevelOutputs& o = levels[l];
    const int64_t hw = o.h * o.w;
    // Candidate k = cell * A + anchor, as the anchors are laid out.
    std::vector<float> logits(static_cast<size_t>(hw * a));
    for (int64_t c = 0; c < hw; ++c)
      for (int64_t j = 0; j < a; ++j)
        logits[static_cast<size_t>(c * a + j)] =
            o.objectness_h[static_cast<size_t>((i * a + j) * hw + c)];
    for (const int64_t k : top_k(logits, pre)) {
      const int64_t c = k / a, j = k % a;
      for (int64_t d = 0; d < 4; ++d) {
        deltas.push_back(o.deltas_h[static_cast<size_t>(((i * a + j) * 4 + d) * hw + c)]);
        anchors.push_back(o.anchors[static_cast<size_t>(k * 4 + d)]);
      }
      scores.push_back(sigmoid(logits[static_cast<size_t>(k)]));
      level_of.push_back(static_cast<int64_t>(l));
    }
  }
  const auto k = static_cast<int64_t>(scores.size());
  if (k == 0) return {};
  const std::vector<float> boxes =
      ops::decode_boxes(ops::Tensor::from_vector(deltas, {k, 4}),
                        ops::Tensor::from_vector(anchors, {k, 4}), ops::BoxCoding{},
                        static_cast<double>(image_w), static_cast<double>(image_h))
          .to_vector();
  // Boxes under min_size a side leave; NMS per level.
  std::vector<float> kept_boxes, kept_scores;
  std::vector<int64_t> kept_levels;
  for (int64_t j = 0; j < k; ++j) {
    const float* b = boxes.data() + j * 4;
    if (b[2] - b[0] < o_.min_size || b[3] - b[1] < o_.min_size) continue;
    kept_boxes.insert(kept_boxes.end(), b, b + 4);
    kept_scores.push_back(scores[static_cast<size_t>(j)]);
    kept_levels.push_back(level_of[static_cast<size_t>(j)]);
  }
  const auto m = static_cast<int64_t>(kept_scores.size());
  if (m == 0) return {};
  const std::vector<int64_t> keep = ops::batched_nms(
      ops::Tensor::from_vector(kept_boxes, {m, 4}), ops::Tensor::from_vector(kept_scores, {m}),
      i64_tensor(kept_levels, ops::Device::cpu()),
      ops::NmsOptions{.iou_threshold = o_.nms_thresh, .max_output = post});
  std::vector<float> out;
  for (const int64_t j : keep)
    out.insert(out.end(), kept_boxes.begin() + j * 4, kept_boxes.begin() + j * 4 + 4);
  return out;
}

void RegionProposalNetwork::losses(const std::vector<LevelOutputs>& levels,
                                   const std::vector<ImageBoxes>& targets, std::mt19937_64& sampler,
                                   int64_t anchors_per_image, Output& out) const {
  const int64_t a = anchors_per_cell();
  // Every image has the same anchors: level, cell and anchor of each.
  std::vector<float> anchors;
  std::vector<int64_t> level_of;
  for (size_t l = 0; l < levels.size(); ++l) {
    anchors.insert(anchors.end(), levels[l].anchors.begin(), levels[l].anchors.end());
    level_of.insert(level_of.end(), static_cast<size_t>(levels[l].h * levels[l].w * a),
                    static_cast<int64_t>(l));
  }
  const ops::Tensor anchor_tensor = ops::Tensor::from_vector(anchors, {anchors_per_image, 4});
  std::vector<int64_t> logit_at, delta_at;
  std::vector<float> labels, matched_boxes, matched_anchors;
  for (size_t i = 0; i < targets.size(); ++i) {
    const ImageBoxes& t = targets[i];
    std::vector<float> iou;
    if (t.size() > 0)
      iou =
          ops::box_iou(anchor_tensor, ops::Tensor::from_vector(t.boxes, {t.size(), 4})).to_vector();
    const std::vector<int64_t> match =
        match_boxes(iou, anchors_per_image, t.size(), o_.sampling.fg_iou_thresh,
                    o_.sampling.bg_iou_thresh, true);
    const BalancedSample s = sample_balanced(match, o_.sampling.batch_size_per_image,
                                             o_.sampling.positive_fraction, sampler);
    const auto at = [&](int64_t anchor, int64_t part) {  // part -1: the logit, else a delta
      const LevelOutputs& o = levels[static_cast<size_t>(level_of[static_cast<size_t>(anchor)])];
      const int64_t k = anchor - o.anchor_offset, hw = o.h * o.w, c = k / a, j = k % a;
      const auto image = static_cast<int64_t>(i);
      return part < 0 ? o.objectness_offset + (image * a + j) * hw + c
                      : o.deltas_offset + ((image * a + j) * 4 + part) * hw + c;
    };
    for (const int64_t k : s.positive) {
      logit_at.push_back(at(k, -1));
      labels.push_back(1.0f);
      const int64_t g = match[static_cast<size_t>(k)];
      for (int64_t d = 0; d < 4; ++d) {
        delta_at.push_back(at(k, d));
        matched_boxes.push_back(t.boxes[static_cast<size_t>(g * 4 + d)]);
        matched_anchors.push_back(anchors[static_cast<size_t>(k * 4 + d)]);
      }
    }
    for (const int64_t k : s.negative) {
      logit_at.push_back(at(k, -1));
      labels.push_back(0.0f);
    }
  }
  std::vector<ops::Tensor> logit_columns, delta_columns;
  for (const LevelOutputs& o : levels) {
    logit_columns.push_back(ops::reshape(o.objectness, {o.objectness.numel(), 1}));
    delta_columns.push_back(ops::reshape(o.deltas, {o.deltas.numel(), 1}));
  }
  const ops::Tensor logits =
      logit_columns.size() == 1 ? logit_columns[0] : ops::concat(logit_columns, 0);
  const ops::Tensor deltas =
      delta_columns.size() == 1 ? delta_columns[0] : ops::concat(delta_columns, 0);
  const ops::Device dev = logits.device();
  const auto drawn = static_cast<int64_t>(labels.size());
  RM_THROW_IF(drawn == 0, "rpn: no anchors to train on");
  out.objectness_loss =
      ops::bce_with_logits(pick_elements(logits, logit_at), f32_tensor(labels, {drawn, 1}, dev));
  out.box_loss = box_regression_loss(deltas, delta_at, matched_boxes, matched_anchors,
                                     ops::BoxCoding{}, static_cast<double>(drawn));
}

}  // namespace ringmaster::models
