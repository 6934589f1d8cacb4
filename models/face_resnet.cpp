// face_resnet (see face_resnet.h): face-api's convLayer (conv + bias, scale,
// optional relu), residual and residualDown blocks, as in
// faceRecognitionNet/{convLayer,residualLayer,FaceRecognitionNet}.ts. The
// per-channel scale is a depthwise 1x1 convolution (x * w + b per channel),
// so it trains and runs on every backend without an op of its own.
#include "models/face_resnet.h"

#include <string>
#include <utility>
#include <vector>

#include "models/layers.h"
#include "ops/add.h"
#include "ops/cast.h"
#include "ops/concat.h"
#include "ops/relu.h"
#include "ops/reshape.h"

namespace ringmaster::models {

namespace {

constexpr float kMeanRgb[3] = {122.782f, 117.001f, 104.298f};  // FaceRecognitionNet.ts
constexpr int64_t kMinImageSize = 103;

ops::Tensor in_dtype_of(const ops::Tensor& t, const ops::Tensor& x) {
  return t.dtype() != x.dtype() ? ops::cast(t, x.dtype()) : t;
}

// face-api's scale layer: y[n, c] = x[n, c] * weight[c] + bias[c], then relu
// when asked. weight (C) = 1, bias (C) = 0 unless told otherwise.
class ChannelScale : public Module {
 public:
  ChannelScale(int64_t channels, bool relu, float initial_weight = 1.0f) {
    weight = register_parameter("weight", ops::Tensor::full({channels}, initial_weight));
    bias = register_parameter("bias", ops::Tensor::zeros({channels}));
    params_.groups = channels;
    params_.fuse_relu = relu;
  }
  ops::Tensor forward(const ops::Tensor& x) override {
    const int64_t c = weight.dim(0);
    const ops::Tensor w = ops::reshape(in_dtype_of(weight, x), {c, 1, 1, 1});  // (C, 1, 1, 1)
    return ops::conv2d(x, w, in_dtype_of(bias, x), params_);
  }
  ops::Tensor weight, bias;

 private:
  ops::Conv2dParams params_;
};

// face-api's convLayer: conv (with bias) "same" at stride 1 or "valid" at
// stride 2, then the scale (and relu). Children conv, scale.
class ConvScale : public Module {
 public:
  ConvScale(int64_t in, int64_t out, int64_t kernel, int64_t stride, bool relu,
            std::mt19937_64& rng, float scale_init = 1.0f) {
    const int64_t pad = stride == 1 ? kernel / 2 : 0;  // tfjs "same" (odd kernel) / "valid"
    conv_ = register_module(
        "conv", std::make_shared<Conv2d>(in, out, kernel, rng,
                                         Conv2dOptions{.stride = stride, .padding = pad}));
    scale_ = register_module("scale", std::make_shared<ChannelScale>(out, relu, scale_init));
  }
  ops::Tensor forward(const ops::Tensor& x) override { return scale_->forward(conv_->forward(x)); }

 private:
  std::shared_ptr<Module> conv_, scale_;
};

// residual (in == out) and residualDown (stride 2, out >= in).
class Residual : public Module {
 public:
  Residual(int64_t in, int64_t out, bool down, std::mt19937_64& rng) : down_(down) {
    RM_CHECK(down ? out >= in : out == in, "residual block ", in, " -> ", out);
    conv1_ =
        register_module("conv1", std::make_shared<ConvScale>(in, out, 3, down ? 2 : 1, true, rng));
    conv2_ = register_module("conv2", std::make_shared<ConvScale>(out, out, 3, 1, false, rng,
                                                                  /*scale_init=*/0.0f));
  }
  ops::Tensor forward(const ops::Tensor& x) override {  // x: (N, C, H, W)
    ops::Tensor out = conv2_->forward(conv1_->forward(x));
    if (!down_) return ops::relu(ops::add(out, x));
    ops::Pool2dParams p;  // 2x2/2 valid average pool: (N, C, H/2, W/2)
    ops::Tensor pooled = ops::avg_pool2d(x, p);
    const int64_t n = out.dim(0), c = out.dim(1);
    const int64_t dh = pooled.dim(2) - out.dim(2), dw = pooled.dim(3) - out.dim(3);
    RM_CHECK(dh >= 0 && dh <= 1 && dw >= 0 && dw <= 1, "residualDown: pool ",
             ops::shape_str(pooled.shape()), " conv ", ops::shape_str(out.shape()));
    if (dh > 0)
      out =
          ops::concat({out, ops::Tensor::zeros({n, c, dh, out.dim(3)}, x.dtype(), x.device())}, 2);
    if (dw > 0)
      out =
          ops::concat({out, ops::Tensor::zeros({n, c, out.dim(2), dw}, x.dtype(), x.device())}, 3);
    if (pooled.dim(1) < c) {
      const ops::Shape zs{n, c - pooled.dim(1), pooled.dim(2), pooled.dim(3)};
      pooled = ops::concat({pooled, ops::Tensor::zeros(zs, x.dtype(), x.device())}, 1);
    }
    return ops::relu(ops::add(out, pooled));
  }

 private:
  bool down_;
  std::shared_ptr<Module> conv1_, conv2_;
};

// The stem: conv32_down, then a 3x3/2 valid max pool.
class Stem : public Module {
 public:
  Stem(std::shared_ptr<Module> conv) : conv_(std::move(conv)) {}
  ops::Tensor forward(const ops::Tensor& x) override {
    ops::Pool2dParams p;
    p.kernel = {3, 3};
    return ops::max_pool2d(conv_->forward(x), p);
  }

 private:
  std::shared_ptr<Module> conv_;
};

// The spatial size after the network's strides, or 0 if some layer gets an
// input smaller than its window.
int64_t final_size(int64_t s) {
  s = s >= 7 ? (s - 7) / 2 + 1 : 0;                    // conv32_down
  s = s >= 3 ? (s - 3) / 2 + 1 : 0;                    // max pool
  for (int i = 0; i < 4; ++i) s = s >= 3 ? s / 2 : 0;  // down blocks: the pool's size wins
  return s;
}

}  // namespace

void read_face_resnet_options(SpecReader&, FaceResNetOptions&) {}

FaceResNet::FaceResNet(const ModelConfig& cfg, std::mt19937_64& rng) {
  RM_THROW_IF(cfg.in_channels != 3, "face_resnet: takes RGB images (3 channels), got ",
              cfg.in_channels, " (lfw-subset gives its grey faces as 3 channels)");
  RM_THROW_IF(cfg.num_classes <= 0, "face_resnet: num_classes ", cfg.num_classes);
  RM_THROW_IF(cfg.image_size < kMinImageSize || final_size(cfg.image_size) < 1,
              "face_resnet: image_size ", cfg.image_size, " is too small for its valid ",
              "convolutions (at least ", kMinImageSize, "; face-api uses 150)");
  auto conv32_down = std::make_shared<ConvScale>(3, 32, 7, 2, true, rng);
  register_module("conv32_down", conv32_down);
  stem_ = std::make_shared<Stem>(conv32_down);
  struct Block {
    const char* name;
    int64_t in, out;
    bool down;
  };
  const Block blocks[] = {
      {"conv32_1", 32, 32, false},      {"conv32_2", 32, 32, false},
      {"conv32_3", 32, 32, false},      {"conv64_down", 32, 64, true},
      {"conv64_1", 64, 64, false},      {"conv64_2", 64, 64, false},
      {"conv64_3", 64, 64, false},      {"conv128_down", 64, 128, true},
      {"conv128_1", 128, 128, false},   {"conv128_2", 128, 128, false},
      {"conv256_down", 128, 256, true}, {"conv256_1", 256, 256, false},
      {"conv256_2", 256, 256, false},   {"conv256_down_out", 256, 256, true},
  };
  for (const Block& b : blocks)
    blocks_.push_back(
        register_module(b.name, std::make_shared<Residual>(b.in, b.out, b.down, rng)));
  fc_ =
      register_module("fc", std::make_shared<Linear>(256, 128, rng, LinearOptions{.bias = false}));
  classifier_ = register_module("classifier", std::make_shared<Linear>(128, cfg.num_classes, rng));
}

ops::Tensor FaceResNet::descriptor(const ops::Tensor& x) {
  RM_THROW_IF(x.ndim() != 4 || x.dim(1) != 3, "face_resnet: input must be (N, 3, H, W), got ",
              ops::shape_str(x.shape()));
  // x - mean / 255 per channel, as a depthwise 1x1 conv with weight 1.
  const ops::Tensor ones = in_dtype_of(ops::Tensor::full({3, 1, 1, 1}, 1.0f).to(x.device()), x);
  const ops::Tensor shift =
      in_dtype_of(ops::Tensor::from_vector(
                      {-kMeanRgb[0] / 255.0f, -kMeanRgb[1] / 255.0f, -kMeanRgb[2] / 255.0f}, {3})
                      .to(x.device()),
                  x);
  ops::Conv2dParams p;
  p.groups = 3;
  ops::Tensor out = stem_->forward(ops::conv2d(x, ones, shift, p));  // (N, 32, 35, 35) at 150
  for (const auto& b : blocks_) out = b->forward(out);               // (N, 256, 2, 2) at 150
  out = ops::flatten(ops::global_avg_pool2d(out), 1);                // (N, 256)
  return fc_->forward(out);                                          // (N, 128)
}

ops::Tensor FaceResNet::forward(const ops::Tensor& x) {
  return classifier_->forward(descriptor(x));
}

std::shared_ptr<Module> make_face_resnet(const FaceResNetOptions&, const ModelConfig& cfg,
                                         std::mt19937_64& rng) {
  return std::make_shared<FaceResNet>(cfg, rng);
}

}  // namespace ringmaster::models
