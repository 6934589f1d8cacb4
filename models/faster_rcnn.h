// faster_rcnn: Faster R-CNN (Ren et al. 2015), laid out and named as
// torchvision's fasterrcnn_resnet50_fpn: `backbone` (a resnet of the
// library, its own model object with its own init and freeze, e.g. loaded
// from a Fashion-MNIST checkpoint; its pool and fc left out; optionally a
// feature pyramid), `rpn` (rpn.h) and `roi_heads` (roi_heads.h). At
// ResNet-50 with FPN and 91 classes it has torchvision 0.14's parameters,
// name for name. The spec fields take torchvision's argument names
// (rpn_pre_nms_top_n_train, box_batch_size_per_image, ...).
//
// Training (training_heads_batch, the images' boxes in the input) gives
// four losses: RPN objectness and box, box-head class and box; forward and
// forward_batch detect: (N, box_detections_per_img, 6) f32 rows x1, y1, x2,
// y2, score, class (rows past an image's detections have class -1). Images
// are used as given (no resizing or normalisation inside the model).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "models/model_registry.h"
#include "models/model_spec.h"
#include "models/roi_heads.h"
#include "models/rpn.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

struct FasterRcnnOptions {
  ModelSpec backbone;             // a resnet
  int64_t backbone_classes = 10;  // its fc's size, to load a classifier's checkpoint
  bool fpn = false;
  int64_t fpn_channels = 256;
  // Without a pyramid every size is used at the one level; with one, one size
  // per level (the stages and the extra). Empty: torchvision's defaults
  // (128, 256, 512; or 32, 64, ... doubling per level).
  std::vector<double> anchor_sizes;
  RpnOptions rpn;       // its sizes come from anchor_sizes
  RoiHeadsOptions box;  // its num_classes is the data's
};

void read_faster_rcnn_options(SpecReader& r, FasterRcnnOptions& o);
// cfg.num_classes counts the background (class 0). Throws ops::Error naming
// the field when the anchors do not fit cfg's images or the pyramid's
// levels.
std::shared_ptr<Module> make_faster_rcnn(const FasterRcnnOptions& o, const ModelConfig& cfg,
                                         std::mt19937_64& rng);

}  // namespace ringmaster::models
