// The region proposal network of Faster R-CNN (Ren et al. 2015), as
// torchvision's RegionProposalNetwork: a head shared by every feature level
// (rpn.head.conv.0.0: 3x3 conv and relu; rpn.head.cls_logits: one
// objectness logit per anchor; rpn.head.bbox_pred: four deltas per anchor),
// anchors per level (ops/anchors.h), and
//  - proposals: per image and level the pre_nms_top_n best anchors by
//    objectness, decoded and clipped, boxes under min_size dropped, NMS per
//    level at nms_thresh, the post_nms_top_n best kept (no gradient);
//  - in training, its losses: anchors matched to the truth (IoU >= fg:
//    object, < bg: background, between: ignored, each box's best anchors
//    objects too), batch_size_per_image drawn at positive_fraction, binary
//    cross-entropy of the drawn anchors' objectness (their mean) and smooth
//    L1 (beta 1/9) of the objects' deltas summed over the drawn count.
// Not thread-safe (a Module).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "models/box_sampling.h"
#include "models/layers.h"
#include "models/module.h"

namespace ringmaster::models {

struct RpnOptions {
  std::vector<std::vector<double>> sizes = {{32.0}};  // anchor sizes per level (as many each)
  std::vector<double> ratios = {0.5, 1.0, 2.0};       // height / width
  int64_t pre_nms_top_n_train = 2000, pre_nms_top_n_test = 1000;
  int64_t post_nms_top_n_train = 2000, post_nms_top_n_test = 1000;
  double nms_thresh = 0.7;
  BoxSampling sampling{.fg_iou_thresh = 0.7,
                       .bg_iou_thresh = 0.3,
                       .batch_size_per_image = 256,
                       .positive_fraction = 0.5};
  double min_size = 1e-3;
};

class RegionProposalNetwork : public Module {
 public:
  RegionProposalNetwork(int64_t channels, RpnOptions o, std::mt19937_64& rng);

  struct Output {
    std::vector<std::vector<float>> proposals;  // per image, (P, 4) on the host
    ops::Tensor objectness_loss, box_loss;      // scalars, training only
  };
  // levels: the backbone's maps (N, C, h_l, w_l) of images image_h x image_w;
  // targets (one per image) and sampler in training (losses computed), null
  // otherwise.
  Output run(const std::vector<ops::Tensor>& levels, int64_t image_h, int64_t image_w,
             const std::vector<ImageBoxes>* targets, std::mt19937_64* sampler);
  ops::Tensor forward(const ops::Tensor& x) override;  // the objectness of one level

  int64_t anchors_per_cell() const;

 private:
  struct LevelOutputs;
  // Image i's proposals (P, 4).
  std::vector<float> proposals_of(const std::vector<LevelOutputs>& levels, int64_t i,
                                  int64_t image_h, int64_t image_w, bool training) const;
  // The two losses into out, over every image's drawn anchors.
  void losses(const std::vector<LevelOutputs>& levels, const std::vector<ImageBoxes>& targets,
              std::mt19937_64& sampler, int64_t anchors_per_image, Output& out) const;
  std::vector<float> anchors_of(int64_t level, int64_t h, int64_t w, int64_t image_h,
                                int64_t image_w) const;

  RpnOptions o_;
  std::shared_ptr<Conv2d> conv_, cls_logits_, bbox_pred_;
};

}  // namespace ringmaster::models
