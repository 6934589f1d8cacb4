// The small detector the tests train in seconds: a faster_rcnn on a
// ResNet-8 of width 8, anchors of 16 and 32 px for 48 to 56 px composites,
// few proposals and RoIs. The model object of a job spec.
#pragma once

#include <nlohmann/json.hpp>

namespace ringmaster::testing_support {

inline nlohmann::json small_faster_rcnn() {
  return {{"name", "faster_rcnn"},
          {"backbone", {{"name", "resnet"}, {"depth", 8}, {"width", 8}}},
          {"anchor_sizes", {16, 32}},
          {"rpn_pre_nms_top_n_train", 200},
          {"rpn_post_nms_top_n_train", 50},
          {"rpn_pre_nms_top_n_test", 100},
          {"rpn_post_nms_top_n_test", 30},
          {"rpn_batch_size_per_image", 64},
          {"box_batch_size_per_image", 32},
          {"representation_size", 32}};
}

}  // namespace ringmaster::testing_support
