// googlenet (see googlenet.h): BasicConv (conv + batch norm + relu, or a
// biased conv with fused relu), the inception module, and the two stacks.
// Every max pool uses ceil_mode, as torchvision's.
#include "models/googlenet.h"

#include <vector>

#include "models/layers.h"
#include "ops/concat.h"
#include "ops/relu.h"

namespace ringmaster::models {

namespace {

// conv (no bias) + bn + relu, or conv (bias, fused relu) when !batch_norm.
class BasicConv : public Module {
 public:
  BasicConv(int64_t in, int64_t out, int64_t k, int64_t stride, bool batch_norm,
            std::mt19937_64& rng) {
    Conv2dOptions o{
        .stride = stride, .padding = k / 2, .bias = !batch_norm, .fuse_relu = !batch_norm};
    conv_ = register_module("conv", std::make_shared<Conv2d>(in, out, k, rng, o));
    // torchvision's BasicConv2d uses eps 0.001.
    if (batch_norm) bn_ = register_module("bn", std::make_shared<BatchNorm2d>(out, 1e-3));
  }
  ops::Tensor forward(const ops::Tensor& x) override {
    ops::Tensor y = conv_->forward(x);
    return bn_ ? ops::relu(bn_->forward(y)) : y;
  }

 private:
  std::shared_ptr<Module> conv_, bn_;
};

struct InceptionWidths {
  int64_t c1, r3, c3, r5, c5, pool;  // 1x1; 3x3 reduce, 3x3; 5x5 reduce, 5x5; pool projection
  int64_t out() const { return c1 + c3 + c5 + pool; }
};

// x (N, in, H, W) -> (N, c1 + c3 + c5 + pool, H, W).
class Inception : public Module {
 public:
  Inception(int64_t in, const InceptionWidths& w, bool batch_norm, int64_t k5,
            std::mt19937_64& rng) {
    b1_ = register_module("branch1", std::make_shared<BasicConv>(in, w.c1, 1, 1, batch_norm, rng));
    auto b2 = std::make_shared<Sequential>();
    b2->push_back(std::make_shared<BasicConv>(in, w.r3, 1, 1, batch_norm, rng));
    b2->push_back(std::make_shared<BasicConv>(w.r3, w.c3, 3, 1, batch_norm, rng));
    b2_ = register_module("branch2", b2);
    auto b3 = std::make_shared<Sequential>();
    b3->push_back(std::make_shared<BasicConv>(in, w.r5, 1, 1, batch_norm, rng));
    b3->push_back(std::make_shared<BasicConv>(w.r5, w.c5, k5, 1, batch_norm, rng));
    b3_ = register_module("branch3", b3);
    auto b4 = std::make_shared<Sequential>();
    b4->push_back(std::make_shared<MaxPool2d>(
        3, Pool2dOptions{.stride = 1, .padding = 1, .ceil_mode = true}));
    b4->push_back(std::make_shared<BasicConv>(in, w.pool, 1, 1, batch_norm, rng));
    b4_ = register_module("branch4", b4);
  }
  ops::Tensor forward(const ops::Tensor& x) override {
    return ops::concat({b1_->forward(x), b2_->forward(x), b3_->forward(x), b4_->forward(x)}, 1);
  }

 private:
  std::shared_ptr<Module> b1_, b2_, b3_, b4_;
};

std::shared_ptr<MaxPool2d> pool(int64_t k, int64_t stride, int64_t pad = 0) {
  return std::make_shared<MaxPool2d>(
      k, Pool2dOptions{.stride = stride, .padding = pad, .ceil_mode = true});
}

struct NamedInception {
  const char* name;
  int64_t in;
  InceptionWidths w;
};

}  // namespace

void read_googlenet_options(SpecReader& r, GoogLeNetOptions& o) {
  r.string("variant", o.variant, {"auto", "imagenet", "small"});
  r.string("norm", o.norm, {"batch_norm", "lrn"});
  r.number("dropout", o.dropout, 0.0, 0.99);
  if (o.variant == "small" && o.norm == "lrn")
    r.problem("norm", "the small variant uses batch_norm only");
}

std::shared_ptr<Module> make_googlenet(const GoogLeNetOptions& o, const ModelConfig& cfg,
                                       std::mt19937_64& rng) {
  RM_THROW_IF(cfg.in_channels <= 0 || cfg.num_classes <= 0, "googlenet: in_channels ",
              cfg.in_channels, " and num_classes ", cfg.num_classes, " must be positive");
  const bool small = o.variant == "small" || (o.variant == "auto" && cfg.image_size < 96);
  const bool bn = o.norm == "batch_norm" || small;
  const double dropout = o.dropout >= 0.0 ? o.dropout : (bn ? 0.2 : 0.4);
  auto net = std::make_shared<Sequential>();
  auto add_inceptions = [&](const std::vector<NamedInception>& list, int64_t k5) {
    for (const NamedInception& m : list)
      net->add(m.name, std::make_shared<Inception>(m.in, m.w, bn, k5, rng));
  };
  int64_t features = 0;
  if (small) {
    RM_THROW_IF(cfg.image_size < 4, "googlenet small: image_size ", cfg.image_size,
                " is too small (at least 4)");
    net->add("conv1", std::make_shared<BasicConv>(cfg.in_channels, 64, 3, 1, true, rng));
    net->add("maxpool1", pool(3, 2, 1));  // 28 -> 14, 32 -> 16
    add_inceptions({{"inception3a", 64, {32, 48, 64, 8, 16, 16}},
                    {"inception3b", 128, {64, 64, 96, 16, 48, 32}}},
                   3);
    net->add("maxpool2", pool(3, 2, 1));  // 14 -> 7, 16 -> 8
    add_inceptions({{"inception4a", 240, {96, 48, 104, 8, 24, 32}},
                    {"inception4b", 256, {80, 56, 112, 12, 32, 32}}},
                   3);
    features = 256;
  } else {
    RM_THROW_IF(cfg.image_size < 32, "googlenet imagenet: image_size ", cfg.image_size,
                " is too small (at least 32; use the small variant)");
    net->add("conv1", std::make_shared<BasicConv>(cfg.in_channels, 64, 7, 2, bn, rng));
    net->add("maxpool1", pool(3, 2));
    if (!bn) net->add("lrn1", std::make_shared<LocalResponseNorm>(5, 1e-4, 0.75, 1.0));
    net->add("conv2", std::make_shared<BasicConv>(64, 64, 1, 1, bn, rng));
    net->add("conv3", std::make_shared<BasicConv>(64, 192, 3, 1, bn, rng));
    if (!bn) net->add("lrn2", std::make_shared<LocalResponseNorm>(5, 1e-4, 0.75, 1.0));
    net->add("maxpool2", pool(3, 2));
    // torchvision keeps a 3x3 conv in the "5x5" branch; the paper has 5x5.
    const int64_t k5 = bn ? 3 : 5;
    add_inceptions({{"inception3a", 192, {64, 96, 128, 16, 32, 32}},
                    {"inception3b", 256, {128, 128, 192, 32, 96, 64}}},
                   k5);
    net->add("maxpool3", pool(3, 2));
    add_inceptions({{"inception4a", 480, {192, 96, 208, 16, 48, 64}},
                    {"inception4b", 512, {160, 112, 224, 24, 64, 64}},
                    {"inception4c", 512, {128, 128, 256, 24, 64, 64}},
                    {"inception4d", 512, {112, 144, 288, 32, 64, 64}},
                    {"inception4e", 528, {256, 160, 320, 32, 128, 128}}},
                   k5);
    net->add("maxpool4", pool(2, 2));
    add_inceptions({{"inception5a", 832, {256, 160, 320, 32, 128, 128}},
                    {"inception5b", 832, {384, 192, 384, 48, 128, 128}}},
                   k5);
    features = 1024;
  }
  net->add("avgpool", std::make_shared<GlobalAvgPool2d>());
  net->add("flatten", std::make_shared<Flatten>());
  if (dropout > 0.0) net->add("dropout", std::make_shared<Dropout>(dropout, rng));
  net->add("fc", std::make_shared<Linear>(features, cfg.num_classes, rng));
  return net;
}

}  // namespace ringmaster::models
