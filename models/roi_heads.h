// The second stage of Faster R-CNN, as torchvision's RoIHeads with
// MultiScaleRoIAlign, TwoMLPHead and FastRCNNPredictor: each proposal's
// features pooled by RoIAlign (pool x pool, sampling_ratio, aligned false;
// with several levels, each box from the level its size maps to, as
// torchvision's LevelMapper: 4 + log2(sqrt(area) / 224), clamped), two
// fully connected layers with relu (roi_heads.box_head.fc6, fc7), then class
// scores (roi_heads.box_predictor.cls_score, background 0) and per-class box
// deltas (bbox_pred, weights 10, 10, 5, 5).
//  - Training: the image's proposals and its true boxes matched (IoU >=
//    fg: that box's class; < bg: background), batch_size_per_image drawn at
//    positive_fraction; losses: cross-entropy of the classes (mean), smooth
//    L1 (beta 1/9) of the true class's deltas summed over the drawn count.
//  - Detection: per class above background, boxes decoded and clipped,
//    scores over score_thresh, boxes under 1e-2 a side dropped, NMS per
//    class at nms_thresh, the detections_per_img best kept.
// Not thread-safe (a Module).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "models/box_sampling.h"
#include "models/layers.h"
#include "models/module.h"
#include "models/roi_targets.h"

namespace ringmaster::models {

struct RoiHeadsOptions {
  int64_t num_classes = 2;  // background included
  int64_t representation_size = 1024;
  int64_t pool = 7;
  int64_t sampling_ratio = 2;
  BoxSampling sampling;       // training: which proposals are drawn
  DetectionLimits detection;  // detection: thresholds and how many kept
};

class RoiHeads : public Module {
 public:
  // channels: the feature maps'; pooled_levels: how many of the backbone's
  // levels boxes are pooled from (the first ones; a pyramid's extra level is
  // not pooled).
  RoiHeads(int64_t channels, int64_t pooled_levels, RoiHeadsOptions o, std::mt19937_64& rng);

  // (classification loss, box loss) of the drawn proposals of each image.
  std::pair<ops::Tensor, ops::Tensor> losses(const std::vector<ops::Tensor>& levels,
                                             const std::vector<std::vector<float>>& proposals,
                                             const std::vector<ImageBoxes>& targets,
                                             int64_t image_h, int64_t image_w,
                                             std::mt19937_64& sampler);
  // (N, detections_per_img, 6) f32 on the cpu: x1, y1, x2, y2, score, class,
  // best first; rows past an image's detections are 0 with class -1.
  ops::Tensor detect(const std::vector<ops::Tensor>& levels,
                     const std::vector<std::vector<float>>& proposals, int64_t image_h,
                     int64_t image_w);
  ops::Tensor forward(const ops::Tensor& x) override;  // pooled features (R, C, p, p) -> scores

 private:
  struct Rois;
  // Class scores (R, K) and deltas (R, 4K) of rois, pooled from the levels.
  std::pair<ops::Tensor, ops::Tensor> head(const std::vector<ops::Tensor>& levels, const Rois& r,
                                           int64_t image_h, int64_t image_w);

  RoiHeadsOptions o_;
  int64_t pooled_levels_;
  std::shared_ptr<Linear> fc6_, fc7_, cls_score_, bbox_pred_;
};

}  // namespace ringmaster::models
