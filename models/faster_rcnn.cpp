// faster_rcnn (see faster_rcnn.h): the backbone, the RPN and the box heads
// composed, with the spec reader.
#include "models/faster_rcnn.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "models/detection_backbone.h"
#include "models/model_builder.h"
#include "models/random_draws.h"
#include "ops/autograd.h"
#include "ops/check.h"

namespace ringmaster::models {
namespace {

class FasterRcnn : public Module, public RandomDraws {
 public:
  FasterRcnn(const FasterRcnnOptions& o, const ModelConfig& cfg, std::mt19937_64& rng)
      : sampler_seed_(rng()) {
    ModelConfig body_cfg = cfg;
    body_cfg.num_classes = static_cast<int>(o.backbone_classes);
    std::vector<std::string> body_log;
    const std::shared_ptr<Module> classifier =
        build_model_from_spec(o.backbone, body_cfg, rng, &body_log);
    if (cfg.log != nullptr)
      for (const std::string& line : body_log) cfg.log->push_back("backbone: " + line);
    const ops::Tensor probe =
        ops::Tensor::zeros({1, cfg.in_channels, cfg.image_size, cfg.image_size});
    backbone_ = register_module(
        "backbone",
        std::make_shared<DetectionBackbone>(*classifier, probe, o.fpn ? o.fpn_channels : 0, rng));
    RpnOptions rpn = o.rpn;
    rpn.sizes = anchor_levels(o, backbone_->levels(), cfg.image_size);
    rpn_ = register_module(
        "rpn", std::make_shared<RegionProposalNetwork>(backbone_->out_channels(), rpn, rng));
    RoiHeadsOptions box = o.box;
    box.num_classes = cfg.num_classes;
    const int64_t pooled = o.fpn ? backbone_->levels() - 1 : 1;
    roi_heads_ = register_module(
        "roi_heads", std::make_shared<RoiHeads>(backbone_->out_channels(), pooled, box, rng));
    pooled_levels_ = pooled;
  }

  ops::Tensor forward(const ops::Tensor& images) override {
    const std::vector<ops::Tensor> levels = backbone_->features(images);
    const auto proposals = rpn_->run(levels, images.dim(2), images.dim(3), nullptr, nullptr);
    return roi_heads_->detect(pooled(levels), proposals.proposals, images.dim(2), images.dim(3));
  }
  std::vector<ops::Tensor> training_heads(const ops::Tensor&) override {
    throw ops::Error("faster_rcnn trains on images with their boxes (a detection data set)");
  }
  std::vector<ops::Tensor> training_heads_batch(const ModelInput& in) override {
    RM_THROW_IF(!in.boxes.defined() || !in.box_classes.defined(),
                "faster_rcnn trains on images with their boxes (a detection data set)");
    const std::vector<ImageBoxes> targets = image_boxes_of(in.boxes, in.box_classes);
    const int64_t h = in.images.dim(2), w = in.images.dim(3);
    const std::vector<ops::Tensor> levels = backbone_->features(in.images);
    std::mt19937_64 sampler(draw_seed(sampler_seed_, calls_++));
    auto rpn = rpn_->run(levels, h, w, &targets, &sampler);
    auto [class_loss, box_loss] =
        roi_heads_->losses(pooled(levels), rpn.proposals, targets, h, w, sampler);
    return {rpn.objectness_loss, rpn.box_loss, class_loss, box_loss};
  }
  uint64_t calls() const override { return calls_; }
  void set_calls(uint64_t calls) override { calls_ = calls; }

 private:
  std::vector<ops::Tensor> pooled(const std::vector<ops::Tensor>& levels) const {
    return {levels.begin(), levels.begin() + pooled_levels_};
  }

  // Anchor sizes per level: all at the one level, or one per pyramid level.
  static std::vector<std::vector<double>> anchor_levels(const FasterRcnnOptions& o, int64_t levels,
                                                        int64_t image_size) {
    std::vector<double> sizes = o.anchor_sizes;
    if (sizes.empty()) {
      if (o.fpn)
        for (int64_t l = 0; l < levels; ++l) sizes.push_back(32.0 * std::exp2(l));
      else
        sizes = {128.0, 256.0, 512.0};
    }
    for (const double s : sizes)
      RM_THROW_IF(s > static_cast<double>(image_size), "model.anchor_sizes: an anchor of ", s,
                  " px does not fit the ", image_size, " px images");
    if (!o.fpn) return {sizes};
    RM_THROW_IF(static_cast<int64_t>(sizes.size()) != levels,
                "model.anchor_sizes: the pyramid has ", levels,
                " levels (the backbone's stages and the extra), so it needs ", levels,
                " sizes, one per level; got ", sizes.size());
    std::vector<std::vector<double>> out;
    for (const double s : sizes) out.push_back({s});
    return out;
  }

  // The RPN's and the box head's draws: training step `calls_` draws from
  // draw_seed(sampler_seed_, calls_).
  uint64_t sampler_seed_, calls_ = 0;
  std::shared_ptr<DetectionBackbone> backbone_;
  std::shared_ptr<RegionProposalNetwork> rpn_;
  std::shared_ptr<RoiHeads> roi_heads_;
  int64_t pooled_levels_ = 1;
};

// A JSON array of numbers in (0, max] at key, or nothing.
void read_numbers(SpecReader& r, const std::string& key, std::vector<double>& out, double max) {
  const nlohmann::json* a = r.raw(key);
  if (a == nullptr) return;
  if (!a->is_array() || a->empty() || a->size() > 16) {
    r.problem(key, "must be an array of 1 to 16 numbers");
    return;
  }
  out.clear();
  for (const nlohmann::json& v : *a) {
    if (!v.is_number() || !(v.get<double>() > 0.0) || v.get<double>() > max) {
      r.problem(key, "must hold numbers in (0, " + std::to_string(static_cast<int64_t>(max)) +
                         "], got " + v.dump());
      return;
    }
    out.push_back(v.get<double>());
  }
}

void read_rpn(SpecReader& r, RpnOptions& o) {
  read_numbers(r, "aspect_ratios", o.ratios, 100.0);
  r.integer("rpn_pre_nms_top_n_train", o.pre_nms_top_n_train, 1, 1000000);
  r.integer("rpn_pre_nms_top_n_test", o.pre_nms_top_n_test, 1, 1000000);
  r.integer("rpn_post_nms_top_n_train", o.post_nms_top_n_train, 1, 1000000);
  r.integer("rpn_post_nms_top_n_test", o.post_nms_top_n_test, 1, 1000000);
  r.number("rpn_nms_thresh", o.nms_thresh, 0.0, 1.0);
  read_box_sampling(r, "rpn_", o.sampling);
}

void read_box(SpecReader& r, RoiHeadsOptions& o) {
  r.integer("representation_size", o.representation_size, 1, 65536);
  r.integer("box_roi_pool_size", o.pool, 1, 64);
  r.integer("box_roi_pool_sampling_ratio", o.sampling_ratio, 0, 64);
  read_box_sampling(r, "box_", o.sampling);
  read_detection_limits(r, o.detection);
}

}  // namespace

void read_faster_rcnn_options(SpecReader& r, FasterRcnnOptions& o) {
  if (const nlohmann::json* b = r.raw("backbone")) {
    parse_model_spec(*b, r.child("backbone"), false, o.backbone, r.problems());
    if (o.backbone.name != "resnet")
      r.problem("backbone/name",
                "must be \"resnet\" (the backbones with stages), got \"" + o.backbone.name + "\"");
  } else {
    r.problem("backbone", "is required: the resnet whose feature maps the detector reads");
  }
  r.integer("backbone_classes", o.backbone_classes, 1, 100000);
  r.boolean("fpn", o.fpn);
  r.integer("fpn_channels", o.fpn_channels, 1, 4096);
  read_numbers(r, "anchor_sizes", o.anchor_sizes, 4096.0);
  read_rpn(r, o.rpn);
  read_box(r, o.box);
}

std::shared_ptr<Module> make_faster_rcnn(const FasterRcnnOptions& o, const ModelConfig& cfg,
                                         std::mt19937_64& rng) {
  RM_THROW_IF(cfg.num_classes < 2, "faster_rcnn: ", cfg.num_classes,
              " classes (background and at least one object class)");
  return std::make_shared<FasterRcnn>(o, cfg, rng);
}

}  // namespace ringmaster::models
