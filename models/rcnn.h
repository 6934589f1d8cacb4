// rcnn: the original R-CNN (Girshick et al. 2014). Region proposals from
// selective search (selective_search.h, a classical method, on the image's
// pixels), each warped (bilinear, RoIAlign over the image itself) to the
// classifier's input size, with context_padding pixels of the image around
// it if asked (the paper's context padding), and classified by any image classifier of the
// library (`classifier`, its own model object with its own init and
// freeze, e.g. a resnet loaded from a Fashion-MNIST checkpoint: transfer
// learning; its head left out), then class scores (cls_score, background
// 0) and class-specific box regression (bbox_pred, weights 10, 10, 5, 5)
// from its features, and per-class NMS. One network trained end to end on
// the drawn proposals (cross-entropy and smooth L1), where the paper fitted
// SVMs and regressors after fine-tuning. Images are read back to pixels as
// x * 255 (the data's plain scaling) for the proposals, which are kept by
// the pixels' hash (an image seen again, as every epoch does, is not
// searched again).
//
// Training (training_heads_batch, the boxes in the input): two losses;
// forward detects: (N, box_detections_per_img, 6) f32 rows x1, y1, x2, y2,
// score, class (class -1 past an image's detections).
#pragma once

#include <cstdint>
#include <memory>
#include <random>

#include "models/model_registry.h"
#include "models/model_spec.h"
#include "models/roi_targets.h"
#include "models/selective_search.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

struct RcnnOptions {
  ModelSpec classifier;             // an image classifier of the library
  int64_t classifier_classes = 10;  // its head's size, to load a classifier's checkpoint
  int64_t warp_size = 28;           // proposals are warped to warp_size x warp_size
  // Pixels of context around the proposal in the warped crop (the paper's p,
  // 16 of 227): the box is widened so that it fills the crop's inside
  // warp_size - 2 * context_padding.
  int64_t context_padding = 0;
  SelectiveSearchOptions proposals;
  BoxSampling sampling{.batch_size_per_image = 64};
  DetectionLimits detection{.nms_thresh = 0.3};
};

void read_rcnn_options(SpecReader& r, RcnnOptions& o);
// cfg.num_classes counts the background (class 0).
std::shared_ptr<Module> make_rcnn(const RcnnOptions& o, const ModelConfig& cfg,
                                  std::mt19937_64& rng);

}  // namespace ringmaster::models
