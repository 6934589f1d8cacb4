// face_resnet: face-api's face-recognition network (@vladmandic/face-api
// 1.7.15, src/faceRecognitionNet/; dlib's ResNet-34-like descriptor, half
// width), layer for layer, plus a linear classifier on its 128-d descriptor.
// Its modules are named like the tfjs scopes of face_recognition_model
// (conv32_down.conv.weight is conv32_down/conv/filters, see tfjs_weights.h),
// so model.init.checkpoint can name the tfjs manifest itself. It does not
// detect or align faces, and has no batch norm (face-api's has none).
#pragma once

#include <memory>
#include <random>

#include "models/model_registry.h"
#include "models/module.h"
#include "models/spec_reader.h"

namespace ringmaster::models {

struct FaceResNetOptions {};  // no fields: the architecture is fixed

void read_face_resnet_options(SpecReader& r, FaceResNetOptions& o);

// Input (N, 3, S, S) RGB in [0, 1] (what the batch loader gives), S >= 103
// (150 is face-api's). Inside: x - meanRGB / 255 (face-api's normalisation,
// meanRGB = 122.782, 117.001, 104.298), then
//   conv32_down  7x7/2 valid conv + bias, per-channel scale, relu; max pool 3/2 valid
//   conv32_1..3, conv64_down, conv64_1..3, conv128_down, conv128_1..2,
//   conv256_down, conv256_1..2, conv256_down_out: residual blocks
//   global average pool; fc (256 -> 128, no bias): the descriptor
//   classifier (128 -> num_classes): logits.
// A residual block is conv1 (3x3 same, scale, relu), conv2 (3x3 same, scale),
// plus x, relu. A down block's conv1 is 3x3/2 valid; its shortcut is a 2x2/2
// average pool with the new channels zero, and the conv branch gets a zero
// bottom row and right column when it is one pixel smaller than the pool.
// Fresh weights: He normal convs, zero biases, scales 1 except each residual
// branch's last scale, 0 (the block starts as its shortcut: there is no
// batch norm to keep a from-scratch network's activations in range).
class FaceResNet : public Module {
 public:
  FaceResNet(const ModelConfig& cfg, std::mt19937_64& rng);
  // Logits (N, num_classes).
  ops::Tensor forward(const ops::Tensor& x) override;
  // face-api's 128-d face descriptor (N, 128).
  ops::Tensor descriptor(const ops::Tensor& x);

 private:
  std::shared_ptr<Module> stem_, fc_, classifier_;
  std::vector<std::shared_ptr<Module>> blocks_;
};

// Throws ops::Error unless the data is 3 channels of at least 103 px.
std::shared_ptr<Module> make_face_resnet(const FaceResNetOptions& o, const ModelConfig& cfg,
                                         std::mt19937_64& rng);

}  // namespace ringmaster::models
