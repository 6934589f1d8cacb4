// resnet (see resnet.h): the basic and bottleneck blocks and the two stage
// layouts. Convolutions feeding batch norm have no bias (torchvision); relu
// after a block's addition is a separate op (add, then relu).
#include "models/resnet.h"

#include <vector>

#include "models/layers.h"
#include "ops/add.h"
#include "ops/concat.h"
#include "ops/relu.h"

namespace ringmaster::models {

namespace {

std::shared_ptr<Conv2d> conv(int64_t in, int64_t out, int64_t k, int64_t stride,
                             std::mt19937_64& rng) {
  return std::make_shared<Conv2d>(in, out, k, rng,
                                  Conv2dOptions{.stride = stride, .padding = k / 2, .bias = false});
}

// Option A shortcut: x (N, C, H, W) -> (N, C + 2*pad, H/s, W/s): every s-th
// pixel, with `pad` zero channels before and after (as the CIFAR ResNet
// reference implementations do).
class ZeroPadShortcut : public Module {
 public:
  ZeroPadShortcut(int64_t stride, int64_t pad) : stride_(stride), pad_(pad) {}
  ops::Tensor forward(const ops::Tensor& x) override {
    ops::Tensor sub = x;
    if (stride_ > 1) {
      ops::Pool2dParams p;
      p.kernel = {1, 1};
      p.stride = {stride_, stride_};
      sub = ops::max_pool2d(x, p);  // a 1x1 max pool is a strided subsample
    }
    if (pad_ == 0) return sub;
    ops::Tensor zeros =
        ops::Tensor::zeros({sub.dim(0), pad_, sub.dim(2), sub.dim(3)}, ops::DType::f32, x.device());
    return ops::concat({zeros, sub, zeros}, 1);
  }

 private:
  int64_t stride_, pad_;
};

// conv3x3-bn-relu-conv3x3-bn, plus the shortcut, then relu.
class BasicBlock : public Module {
 public:
  BasicBlock(int64_t in, int64_t planes, int64_t stride, char shortcut, std::mt19937_64& rng) {
    conv1_ = register_module("conv1", conv(in, planes, 3, stride, rng));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
    conv2_ = register_module("conv2", conv(planes, planes, 3, 1, rng));
    bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
    if (stride != 1 || in != planes) {
      if (shortcut == 'A') {
        shortcut_ = std::make_shared<ZeroPadShortcut>(stride, (planes - in) / 2);
      } else {
        auto ds = std::make_shared<Sequential>();
        ds->push_back(conv(in, planes, 1, stride, rng));
        ds->push_back(std::make_shared<BatchNorm2d>(planes));
        shortcut_ = register_module("downsample", ds);
      }
    }
  }
  ops::Tensor forward(const ops::Tensor& x) override {
    ops::Tensor out = ops::relu(bn1_->forward(conv1_->forward(x)));  // (N, planes, H/s, W/s)
    out = bn2_->forward(conv2_->forward(out));
    const ops::Tensor identity = shortcut_ ? shortcut_->forward(x) : x;
    return ops::relu(ops::add(out, identity));
  }

 private:
  std::shared_ptr<Module> conv1_, bn1_, conv2_, bn2_, shortcut_;
};

// conv1x1-bn-relu-conv3x3(stride)-bn-relu-conv1x1(x4)-bn, plus the shortcut, then relu.
class Bottleneck : public Module {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t in, int64_t planes, int64_t stride, std::mt19937_64& rng) {
    const int64_t out = planes * kExpansion;
    conv1_ = register_module("conv1", conv(in, planes, 1, 1, rng));
    bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(planes));
    conv2_ = register_module("conv2", conv(planes, planes, 3, stride, rng));
    bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(planes));
    conv3_ = register_module("conv3", conv(planes, out, 1, 1, rng));
    bn3_ = register_module("bn3", std::make_shared<BatchNorm2d>(out));
    if (stride != 1 || in != out) {
      auto ds = std::make_shared<Sequential>();
      ds->push_back(conv(in, out, 1, stride, rng));
      ds->push_back(std::make_shared<BatchNorm2d>(out));
      downsample_ = register_module("downsample", ds);
    }
  }
  ops::Tensor forward(const ops::Tensor& x) override {
    ops::Tensor out = ops::relu(bn1_->forward(conv1_->forward(x)));
    out = ops::relu(bn2_->forward(conv2_->forward(out)));
    out = bn3_->forward(conv3_->forward(out));
    const ops::Tensor identity = downsample_ ? downsample_->forward(x) : x;
    return ops::relu(ops::add(out, identity));
  }

 private:
  std::shared_ptr<Module> conv1_, bn1_, conv2_, bn2_, conv3_, bn3_, downsample_;
};

bool imagenet_depth(int64_t d) { return d == 18 || d == 34 || d == 50 || d == 101 || d == 152; }

}  // namespace

void read_resnet_options(SpecReader& r, ResNetOptions& o) {
  r.integer("depth", o.depth, 8, 1202);
  r.string("layout", o.layout, {"auto", "cifar", "imagenet"});
  r.string("shortcut", o.shortcut, {"A", "B", "auto"});
  r.integer("width", o.width, 0, 4096);
  const bool cifar = o.layout == "cifar" || (o.layout == "auto" && !imagenet_depth(o.depth));
  if (cifar && (o.depth - 2) % 6 != 0) {
    r.problem("depth",
              "must be 18, 34, 50, 101 or 152 (imagenet layout) or 6n+2 such as 20, 32, "
              "44, 56, 110 (cifar layout), got " +
                  std::to_string(o.depth));
  }
  if (!cifar && !imagenet_depth(o.depth)) {
    r.problem("depth", "the imagenet layout has depths 18, 34, 50, 101, 152, got " +
                           std::to_string(o.depth));
  }
  if (!cifar && o.shortcut == "A") r.problem("shortcut", "option A is for the cifar layout only");
  if (cifar && o.shortcut != "B" && o.width % 2 != 0)  // auto is A in the cifar layout
    r.problem("width", "must be even for option-A shortcuts (channels are zero-padded in halves)");
}

std::shared_ptr<Module> make_resnet(const ResNetOptions& o, const ModelConfig& cfg,
                                    std::mt19937_64& rng) {
  RM_THROW_IF(cfg.in_channels <= 0 || cfg.num_classes <= 0, "resnet: in_channels ", cfg.in_channels,
              " and num_classes ", cfg.num_classes, " must be positive");
  const bool cifar = o.layout == "cifar" || (o.layout == "auto" && !imagenet_depth(o.depth));
  auto net = std::make_shared<Sequential>();
  if (cifar) {
    RM_THROW_IF((o.depth - 2) % 6 != 0, "resnet: cifar depth must be 6n+2, got ", o.depth);
    RM_THROW_IF(cfg.image_size < 4, "resnet: image_size ", cfg.image_size,
                " is too small for two stride-2 stages (at least 4)");
    const int64_t n = (o.depth - 2) / 6, w = o.width > 0 ? o.width : 16;
    const char sc = o.shortcut == "B" ? 'B' : 'A';
    net->add("conv1", conv(cfg.in_channels, w, 3, 1, rng));
    net->add("bn1", std::make_shared<BatchNorm2d>(w));
    net->add("relu", std::make_shared<ReLU>());
    int64_t in = w;
    for (int64_t stage = 0; stage < 3; ++stage) {
      const int64_t planes = w << stage;
      auto layer = std::make_shared<Sequential>();
      for (int64_t b = 0; b < n; ++b) {
        layer->push_back(
            std::make_shared<BasicBlock>(in, planes, stage > 0 && b == 0 ? 2 : 1, sc, rng));
        in = planes;
      }
      net->add("layer" + std::to_string(stage + 1), layer);
    }
    net->add("avgpool", std::make_shared<GlobalAvgPool2d>());
    net->add("flatten", std::make_shared<Flatten>());
    net->add("fc", std::make_shared<Linear>(in, cfg.num_classes, rng));
    return net;
  }

  RM_THROW_IF(!imagenet_depth(o.depth), "resnet: imagenet depth must be 18/34/50/101/152, got ",
              o.depth);
  RM_THROW_IF(cfg.image_size < 32, "resnet: image_size ", cfg.image_size,
              " is too small for the imagenet layout's total stride 32 (use a cifar depth)");
  const std::vector<int64_t> blocks = o.depth == 18    ? std::vector<int64_t>{2, 2, 2, 2}
                                      : o.depth == 101 ? std::vector<int64_t>{3, 4, 23, 3}
                                      : o.depth == 152 ? std::vector<int64_t>{3, 8, 36, 3}
                                                       : std::vector<int64_t>{3, 4, 6, 3};
  const bool bottleneck = o.depth >= 50;
  const int64_t w = o.width > 0 ? o.width : 64;
  net->add("conv1",
           std::make_shared<Conv2d>(cfg.in_channels, w, 7, rng,
                                    Conv2dOptions{.stride = 2, .padding = 3, .bias = false}));
  net->add("bn1", std::make_shared<BatchNorm2d>(w));
  net->add("relu", std::make_shared<ReLU>());
  net->add("maxpool", std::make_shared<MaxPool2d>(3, Pool2dOptions{.stride = 2, .padding = 1}));
  int64_t in = w;
  for (size_t stage = 0; stage < 4; ++stage) {
    const int64_t planes = w << stage;
    auto layer = std::make_shared<Sequential>();
    for (int64_t b = 0; b < blocks[stage]; ++b) {
      const int64_t stride = stage > 0 && b == 0 ? 2 : 1;
      if (bottleneck) {
        layer->push_back(std::make_shared<Bottleneck>(in, planes, stride, rng));
        in = planes * Bottleneck::kExpansion;
      } else {
        layer->push_back(std::make_shared<BasicBlock>(in, planes, stride, 'B', rng));
        in = planes;
      }
    }
    net->add("layer" + std::to_string(stage + 1), layer);
  }
  net->add("avgpool", std::make_shared<GlobalAvgPool2d>());
  net->add("flatten", std::make_shared<Flatten>());
  net->add("fc", std::make_shared<Linear>(in, cfg.num_classes, rng));
  return net;
}

}  // namespace ringmaster::models
