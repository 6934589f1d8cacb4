// rcnn (see rcnn.h): proposals per image on the host, warped crops through
// the classifier, and the shared RoI targets, losses and detections.
#include "models/rcnn.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "models/detection_tensors.h"
#include "models/layers.h"
#include "models/model_builder.h"
#include "models/random_draws.h"
#include "ops/autograd.h"
#include "ops/check.h"
#include "ops/concat.h"
#include "ops/reshape.h"
#include "ops/roi_align.h"

namespace ringmaster::models {
namespace {

const ops::BoxCoding kCoding{.wx = 10.0, .wy = 10.0, .ww = 5.0, .wh = 5.0};

class Rcnn : public Module, public RandomDraws {
 public:
  Rcnn(const RcnnOptions& o, const ModelConfig& cfg, std::mt19937_64& rng)
      : o_(o), sampler_seed_(rng()) {
    ModelConfig crop_cfg = cfg;
    crop_cfg.num_classes = static_cast<int>(o.classifier_classes);
    crop_cfg.image_size = static_cast<int>(o.warp_size);
    std::vector<std::string> log;
    classifier_ =
        register_module("classifier", build_model_from_spec(o.classifier, crop_cfg, rng, &log));
    if (cfg.log != nullptr)
      for (const std::string& line : log) cfg.log->push_back("classifier: " + line);
    const std::string head = head_name(*classifier_);
    RM_THROW_IF(head.empty(), "rcnn: the classifier \"", o.classifier.name,
                "\" has no head to leave out");
    replace_layer(*classifier_, head, std::make_shared<Identity>());
    int64_t features = 0;
    {
      ops::NoGradGuard no_grad;
      classifier_->train(false);
      features = ops::flatten(classifier_->forward(ops::Tensor::zeros(
                                  {1, cfg.in_channels, o.warp_size, o.warp_size})))
                     .dim(1);
      classifier_->train(true);
    }
    cls_score_ =
        register_module("cls_score", std::make_shared<Linear>(features, cfg.num_classes, rng));
    bbox_pred_ =
        register_module("bbox_pred", std::make_shared<Linear>(features, 4 * cfg.num_classes, rng));
    std::fill_n(bbox_pred_->weight.data<float>(), bbox_pred_->weight.numel(), 0.0f);
  }

  ops::Tensor forward(const ops::Tensor& images) override {
    const auto n = images.dim(0);
    const std::vector<std::vector<float>> proposals = proposals_of(images);
    LabelledRois all;
    for (int64_t i = 0; i < n; ++i) {
      const auto& p = proposals[static_cast<size_t>(i)];
      all.boxes.insert(all.boxes.end(), p.begin(), p.end());
      all.image.insert(all.image.end(), p.size() / 4, i);
    }
    if (all.size() == 0)
      return detections_from(ops::Tensor::zeros({0, 2}), ops::Tensor::zeros({0, 8}), {}, {}, n,
                             kCoding, o_.detection, images.dim(2), images.dim(3));
    const auto [scores, deltas] = classify(images, all);
    return detections_from(scores, deltas, all.boxes, all.image, n, kCoding, o_.detection,
                           images.dim(2), images.dim(3));
  }
  std::vector<ops::Tensor> training_heads(const ops::Tensor&) override {
    throw ops::Error("rcnn trains on images with their boxes (a detection data set)");
  }
  std::vector<ops::Tensor> training_heads_batch(const ModelInput& in) override {
    RM_THROW_IF(!in.boxes.defined() || !in.box_classes.defined(),
                "rcnn trains on images with their boxes (a detection data set)");
    std::mt19937_64 sampler(draw_seed(sampler_seed_, calls_++));
    const LabelledRois r = sample_rois(
        proposals_of(in.images), image_boxes_of(in.boxes, in.box_classes), o_.sampling, sampler);
    RM_THROW_IF(r.size() == 0, "rcnn: no proposals to train on");
    const auto [scores, deltas] = classify(in.images, r);
    auto [class_loss, box_loss] = roi_losses(scores, deltas, r, kCoding);
    return {class_loss, box_loss};
  }
  uint64_t calls() const override { return calls_; }
  void set_calls(uint64_t calls) override { calls_ = calls; }

 private:
  // Selective search on each image's pixels (x * 255, rounded), remembered
  // by the pixels' 64-bit FNV-1a hash (the same image in every epoch, and
  // its flipped twin, is searched once; at most kCached images kept).
  std::vector<std::vector<float>> proposals_of(const ops::Tensor& images) {
    const ops::Tensor x = images.to(ops::Device::cpu()).to_plain();
    const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    std::vector<std::vector<float>> out(static_cast<size_t>(n));
    std::vector<uint8_t> px(static_cast<size_t>(c * h * w));
    for (int64_t i = 0; i < n; ++i) {
      const float* v = x.data<float>() + i * c * h * w;
      for (size_t j = 0; j < px.size(); ++j)
        px[j] = static_cast<uint8_t>(std::clamp(std::lround(v[j] * 255.0f), 0L, 255L));
      uint64_t key = 1469598103934665603ULL;
      for (const uint8_t v : px) key = (key ^ v) * 1099511628211ULL;
      auto it = cache_.find(key);
      if (it == cache_.end()) {
        std::vector<float> boxes;
        for (const Box4& b : selective_search(px.data(), c, h, w, o_.proposals))
          boxes.insert(boxes.end(), b.begin(), b.end());
        if (cache_.size() >= kCached) cache_.clear();
        it = cache_.emplace(key, std::move(boxes)).first;
      }
      out[static_cast<size_t>(i)] = it->second;
    }
    return out;
  }

  // Scores (R, K) and deltas (R, 4K) of r's boxes, warped from the images.
  // Without a graph to record (evaluation, detect) the boxes go through in
  // chunks of kInferenceCrops: an image has hundreds of proposals, and a
  // whole batch's crops at once would take gigabytes of activations.
  std::pair<ops::Tensor, ops::Tensor> classify(const ops::Tensor& images, const LabelledRois& r) {
    if (ops::grad_mode_enabled() || r.size() <= kInferenceCrops)
      return classify_rows(images, r.boxes, r.image);
    std::vector<ops::Tensor> scores, deltas;
    for (int64_t at = 0; at < r.size(); at += kInferenceCrops) {
      const int64_t end = std::min(r.size(), at + kInferenceCrops);
      auto [s, d] = classify_rows(
          images, std::vector<float>(r.boxes.begin() + at * 4, r.boxes.begin() + end * 4),
          std::vector<int64_t>(r.image.begin() + at, r.image.begin() + end));
      scores.push_back(s);
      deltas.push_back(d);
    }
    return {ops::concat(scores, 0), ops::concat(deltas, 0)};
  }

  std::pair<ops::Tensor, ops::Tensor> classify_rows(const ops::Tensor& images,
                                                    const std::vector<float>& boxes,
                                                    const std::vector<int64_t>& image) {
    const ops::Device dev = images.device();
    const ops::RoiAlignParams warp{.output_h = o_.warp_size,
                                   .output_w = o_.warp_size,
                                   .spatial_scale = 1.0,
                                   .sampling_ratio = 2,
                                   .aligned = true};
    const auto rows = static_cast<int64_t>(image.size());
    const ops::Tensor crops = ops::roi_align(images, f32_tensor(padded(boxes), {rows, 4}, dev),
                                             i64_tensor(image, dev), warp);
    const ops::Tensor f = ops::flatten(classifier_->forward(crops));
    return {cls_score_->forward(f), bbox_pred_->forward(f)};
  }

  // boxes (R * 4) widened about their centres by warp / (warp - 2 p).
  std::vector<float> padded(const std::vector<float>& boxes) const {
    if (o_.context_padding == 0) return boxes;
    const double scale = static_cast<double>(o_.warp_size) /
                         static_cast<double>(o_.warp_size - 2 * o_.context_padding);
    std::vector<float> out(boxes.size());
    for (size_t i = 0; i + 3 < boxes.size(); i += 4) {
      const double cx = (boxes[i] + boxes[i + 2]) / 2.0, cy = (boxes[i + 1] + boxes[i + 3]) / 2.0;
      const double hw = (boxes[i + 2] - boxes[i]) * scale / 2.0;
      const double hh = (boxes[i + 3] - boxes[i + 1]) * scale / 2.0;
      out[i] = static_cast<float>(cx - hw);
      out[i + 1] = static_cast<float>(cy - hh);
      out[i + 2] = static_cast<float>(cx + hw);
      out[i + 3] = static_cast<float>(cy + hh);
    }
    return out;
  }

  static constexpr size_t kCached = 16384;
  static constexpr int64_t kInferenceCrops = 512;

  RcnnOptions o_;
  uint64_t sampler_seed_, calls_ = 0;  // step calls_ draws RoIs from draw_seed(seed, calls_)
  std::unordered_map<uint64_t, std::vector<float>> cache_;  // pixels' hash -> proposals (P, 4)
  std::shared_ptr<Module> classifier_;
  std::shared_ptr<Linear> cls_score_, bbox_pred_;
};

}  // namespace

void read_rcnn_options(SpecReader& r, RcnnOptions& o) {
  if (const nlohmann::json* c = r.raw("classifier")) {
    parse_model_spec(*c, r.child("classifier"), false, o.classifier, r.problems());
    const std::vector<std::string> known = model_names();
    if (std::find(known.begin(), known.end(), o.classifier.name) == known.end() ||
        model_reads(o.classifier.name) != ModelReads::kImages)
      r.problem("classifier/name",
                "must be an image classifier of the library, got \"" + o.classifier.name + "\"");
  } else {
    r.problem("classifier", "is required: the image classifier that scores each proposal");
  }
  r.integer("classifier_classes", o.classifier_classes, 1, 100000);
  r.integer("warp_size", o.warp_size, 8, 512);
  r.integer("context_padding", o.context_padding, 0, 128);
  if (o.context_padding * 4 > o.warp_size)
    r.problem("context_padding", "must be at most a quarter of warp_size (" +
                                     std::to_string(o.warp_size) + "), got " +
                                     std::to_string(o.context_padding));
  r.integer("max_proposals", o.proposals.max_proposals, 1, 100000);
  r.number("min_proposal_side", o.proposals.min_side, 0.0, 4096.0);
  read_box_sampling(r, "box_", o.sampling);
  read_detection_limits(r, o.detection);
}

std::shared_ptr<Module> make_rcnn(const RcnnOptions& o, const ModelConfig& cfg,
                                  std::mt19937_64& rng) {
  RM_THROW_IF(cfg.num_classes < 2, "rcnn: ", cfg.num_classes,
              " classes (background and at least one object class)");
  return std::make_shared<Rcnn>(o, cfg, rng);
}

}  // namespace ringmaster::models
