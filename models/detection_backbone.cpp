// DetectionBackbone (see detection_backbone.h).
#include "models/detection_backbone.h"

#include "ops/add.h"
#include "ops/autograd.h"
#include "ops/check.h"
#include "ops/pool2d.h"
#include "ops/resize.h"

namespace ringmaster::models {
namespace {

bool is_stage(const std::string& name) { return name.rfind("layer", 0) == 0; }

// A Sequential holding one conv under "0" (torchvision's Conv2dNormActivation
// without norm and activation).
std::shared_ptr<Sequential> conv_block(int64_t in, int64_t out, int64_t k, std::mt19937_64& rng) {
  auto s = std::make_shared<Sequential>();
  s->push_back(std::make_shared<Conv2d>(in, out, k, rng, Conv2dOptions{.padding = k / 2}));
  return s;
}

}  // namespace

// torchvision's FeaturePyramidNetwork with LastLevelMaxPool: per stage a 1x1
// lateral (inner_blocks.i.0) and a 3x3 output (layer_blocks.i.0); the
// top-down path adds each coarser merged map, upsampled, to the finer
// lateral; the extra level is the coarsest output subsampled by 2.
class FeaturePyramid : public Module {
 public:
  FeaturePyramid(const std::vector<int64_t>& widths, int64_t channels, std::mt19937_64& rng) {
    inner_ = register_module("inner_blocks", std::make_shared<Sequential>());
    layer_ = register_module("layer_blocks", std::make_shared<Sequential>());
    for (const int64_t w : widths) {
      inner_->push_back(conv_block(w, channels, 1, rng));
      layer_->push_back(conv_block(channels, channels, 3, rng));
    }
  }
  ops::Tensor forward(const ops::Tensor&) override {
    RM_CHECK(false, "FeaturePyramid takes the stages' maps: call levels()");
    return {};
  }
  std::vector<ops::Tensor> levels(const std::vector<ops::Tensor>& c) {
    const size_t n = c.size();
    const auto& inner = inner_->named_children();
    const auto& layer = layer_->named_children();
    std::vector<ops::Tensor> p(n);
    ops::Tensor top = inner[n - 1].second->forward(c.back());
    p[n - 1] = layer[n - 1].second->forward(top);
    for (size_t i = n - 1; i-- > 0;) {
      const ops::Tensor lateral = inner[i].second->forward(c[i]);
      top = ops::add(lateral, ops::resize_bilinear(
                                  top, ops::ResizeParams::to(lateral.dim(2), lateral.dim(3))));
      p[i] = layer[i].second->forward(top);
    }
    ops::Pool2dParams extra;
    extra.kernel = {1, 1};
    extra.stride = {2, 2};
    p.push_back(ops::max_pool2d(p.back(), extra));
    return p;
  }

 private:
  std::shared_ptr<Sequential> inner_, layer_;
};

DetectionBackbone::DetectionBackbone(const Module& classifier, const ops::Tensor& probe,
                                     int64_t fpn_channels, std::mt19937_64& rng) {
  body_ = register_module("body", std::make_shared<Sequential>());
  bool stage_seen = false;
  for (const auto& [name, child] : classifier.named_children()) {
    if (name == "avgpool" || name == "flatten" || name == "fc") break;
    stage_seen = stage_seen || is_stage(name);
    body_->add(name, child);
  }
  RM_THROW_IF(!stage_seen,
              "detection backbone: the classifier has no stages (layer1, ...); "
              "a resnet is needed");
  std::vector<int64_t> widths;
  {
    ops::NoGradGuard no_grad;
    const bool was_training = body_->is_training();
    body_->train(false);
    for (const ops::Tensor& s : stages(probe)) widths.push_back(s.dim(1));
    body_->train(was_training);
  }
  out_channels_ = widths.back();
  if (fpn_channels <= 0) return;
  fpn_ = register_module("fpn", std::make_shared<FeaturePyramid>(widths, fpn_channels, rng));
  out_channels_ = fpn_channels;
  levels_ = static_cast<int64_t>(widths.size()) + 1;
}

std::vector<ops::Tensor> DetectionBackbone::stages(const ops::Tensor& images) {
  std::vector<ops::Tensor> out;
  ops::Tensor x = images;
  for (const auto& [name, child] : body_->named_children()) {
    x = child->forward(x);
    if (is_stage(name)) out.push_back(x);
  }
  return out;
}

std::vector<ops::Tensor> DetectionBackbone::features(const ops::Tensor& images) {
  std::vector<ops::Tensor> c = stages(images);
  if (!fpn_) return {c.back()};
  return fpn_->levels(c);
}

}  // namespace ringmaster::models
