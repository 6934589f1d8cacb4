// The feature extractor of a detector (torchvision's BackboneWithFPN): the
// body of a library classifier (a resnet: every layer up to its last stage,
// names kept, so `backbone.body.layer1.0.conv1.weight`; its pool and fc
// left out) and, optionally, a feature pyramid network over its stages
// (`backbone.fpn.inner_blocks.i.0`, `layer_blocks.i.0`: 1x1 laterals, a
// top-down path, 3x3 outputs, and a max-pooled extra level, torchvision's
// LastLevelMaxPool). The top-down path upsamples bilinearly where
// torchvision takes the nearest pixel. Not thread-safe (a Module).
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "models/layers.h"
#include "models/module.h"

namespace ringmaster::models {

class FeaturePyramid;

class DetectionBackbone : public Module {
 public:
  // classifier: a resnet built by the library (children conv1 ... layerK,
  // avgpool, flatten, fc); probe: an (1, C, S, S) image it can take, run once
  // to learn the stages' widths. fpn_channels 0: no pyramid, the last stage
  // is the one level.
  DetectionBackbone(const Module& classifier, const ops::Tensor& probe, int64_t fpn_channels,
                    std::mt19937_64& rng);
  // images (N, C, H, W) -> the levels, finest first: the pyramid's (stages
  // + the pooled extra), or the last stage alone.
  std::vector<ops::Tensor> features(const ops::Tensor& images);
  ops::Tensor forward(const ops::Tensor& x) override { return features(x).back(); }
  int64_t out_channels() const { return out_channels_; }
  // Levels features() gives; with a pyramid, the last is the pooled extra.
  int64_t levels() const { return levels_; }

 private:
  std::vector<ops::Tensor> stages(const ops::Tensor& images);

  std::shared_ptr<Sequential> body_;
  std::shared_ptr<FeaturePyramid> fpn_;  // or null
  int64_t out_channels_ = 0, levels_ = 1;
};

}  // namespace ringmaster::models
