// fcn (see fcn.h): the module runs the backbone child by child, keeps the
// output of every child that halves the image (a VGG pool, a ResNet stage
// that starts with a stride-2 block), and fuses the skip scores on the way up.
#include "models/fcn.h"

#include "models/layers.h"
#include "models/resnet.h"
#include "models/vgg.h"
#include "ops/add.h"
#include "ops/concat.h"
#include "ops/slice.h"

namespace ringmaster::models {

namespace {

// A stride-s transposed conv (k = 2s, padding s/2, no bias) on k channels,
// initialised to bilinear upsampling.
std::shared_ptr<ConvTranspose2d> upsampler(int64_t classes, int64_t s, std::mt19937_64& rng) {
  auto up = std::make_shared<ConvTranspose2d>(
      classes, classes, 2 * s, rng,
      ConvTranspose2dOptions{.stride = s, .padding = s / 2, .bias = false});
  const ops::Tensor w = bilinear_upsampling_weight(classes, 2 * s);
  std::copy_n(w.data<float>(), w.numel(), up->weight.data<float>());
  return up;
}

std::shared_ptr<Conv2d> zero_conv1x1(int64_t in, int64_t out, std::mt19937_64& rng) {
  auto c = std::make_shared<Conv2d>(in, out, 1, rng);
  std::fill_n(c->weight.data<float>(), c->weight.numel(), 0.0f);
  return c;
}

class Fcn : public Module {
 public:
  Fcn(const FcnOptions& o, const ModelConfig& cfg, std::mt19937_64& rng) : skips_(0) {
    skips_ = o.head == "2s" ? 4 : o.head == "4s" ? 3 : o.head == "8s" ? 2 : o.head == "16s" ? 1 : 0;
    // Channels after each downsampling, in order, and at the end.
    std::vector<int64_t> pool_channels;
    int64_t channels = cfg.in_channels;
    if (o.backbone == "resnet") {
      // A cifar-layout ResNet without its pool and fc; its children keep the
      // classifier's names (conv1, bn1, layer1..3), so a resnet checkpoint
      // initialises them. layer2 and layer3 halve the image.
      RM_THROW_IF(o.resnet.layout != "cifar", "fcn: a resnet backbone is cifar layout, got ",
                  o.resnet.layout);
      const auto net = make_resnet(o.resnet, cfg, rng);
      for (const auto& [name, m] : net->named_children()) {
        if (name == "avgpool") break;
        backbone_.push_back({register_module(name, m), name == "layer2" || name == "layer3"});
      }
      const int64_t w = std::dynamic_pointer_cast<Conv2d>(net->child("conv1"))->weight.dim(0);
      pool_channels = {2 * w, 4 * w};
      full_channels_ = w;
      channels = 4 * w;
    } else {
      const std::vector<int64_t> stack =
          o.backbone_stack.empty() ? vgg_stack(o.backbone_depth) : o.backbone_stack;
      for (int64_t v : stack) {
        if (v == kVggPool) {
          if (pool_channels.empty()) full_channels_ = channels;
          pool_channels.push_back(channels);
        } else {
          channels = v;
        }
      }
      // Its pools are in ceil mode, which keeps 1 px: any image survives.
      auto features = register_module(
          "features", make_vgg_features(stack, cfg.in_channels, o.batch_norm, true, rng));
      for (const auto& [name, m] : features->named_children())
        backbone_.push_back({m, dynamic_cast<MaxPool2d*>(m.get()) != nullptr});
    }
    const int64_t pools = static_cast<int64_t>(pool_channels.size());
    RM_THROW_IF(pools < skips_ + 1, "fcn: head ", o.head, " needs a backbone with at least ",
                skips_ + 1, " downsamplings, got ", pools);
    const int64_t k = cfg.num_classes;
    const int64_t w = o.head_width;
    fc6_ = register_module(
        "fc6",
        std::make_shared<Conv2d>(channels, w, o.head_kernel, rng,
                                 Conv2dOptions{.padding = o.head_kernel / 2, .fuse_relu = true}));
    drop6_ = register_module("drop6", std::make_shared<Dropout>(o.dropout, rng));
    fc7_ = register_module(
        "fc7", std::make_shared<Conv2d>(w, w, 1, rng, Conv2dOptions{.fuse_relu = true}));
    drop7_ = register_module("drop7", std::make_shared<Dropout>(o.dropout, rng));
    score_fr_ = register_module("score_fr", std::make_shared<Conv2d>(w, k, 1, rng));
    // Skip i (1-based) scores the pool i before the last; the paper's names
    // (score_pool4, upscore2 for 16s; score_pool3, upscore_pool4 for 8s)
    // continue for the finer heads.
    for (int64_t i = 1; i <= skips_; ++i) {
      const std::string pool = std::to_string(5 - i);
      score_pool_.push_back(
          register_module("score_pool" + pool,
                          zero_conv1x1(pool_channels[static_cast<size_t>(pools - 1 - i)], k, rng)));
      upscore_skip_.push_back(
          register_module(i == 1 ? std::string("upscore2") : "upscore_pool" + std::to_string(6 - i),
                          upsampler(k, 2, rng)));
    }
    upscore_ = register_module("upscore", upsampler(k, int64_t{1} << (pools - skips_), rng));
    // Made last, so the other layers draw the same initial weights with or
    // without it.
    if (o.refine_width > 0) {
      auto refine = std::make_shared<Sequential>();
      int64_t in = k + cfg.in_channels + full_channels_;
      for (int64_t i = 0; i < o.refine_layers; ++i) {
        refine->push_back(std::make_shared<Conv2d>(in, o.refine_width, 3, rng,
                                                   Conv2dOptions{.padding = 1, .fuse_relu = true}));
        in = o.refine_width;
      }
      auto out =
          refine->push_back(std::make_shared<Conv2d>(in, k, 3, rng, Conv2dOptions{.padding = 1}));
      std::fill_n(out->weight.data<float>(), out->weight.numel(), 0.0f);
      refine_ = register_module("refine", refine);
    }
  }

  // x: (N, C, H, W) -> (N, K, H, W).
  ops::Tensor forward(const ops::Tensor& x) override {
    std::vector<ops::Tensor> pooled;  // outputs of every downsampling, in order
    ops::Tensor h = x, full;          // full: the input of the first one
    for (const auto& [m, downsamples] : backbone_) {
      if (downsamples && pooled.empty()) full = h;
      h = m->forward(h);
      if (downsamples) pooled.push_back(h);
    }
    h = drop7_->forward(fc7_->forward(drop6_->forward(fc6_->forward(h))));
    ops::Tensor score = score_fr_->forward(h);  // (N, K, H/2^P, W/2^P)
    const size_t p = pooled.size();
    for (size_t i = 1; i <= static_cast<size_t>(skips_); ++i) {
      score = fuse(upscore_skip_[i - 1], score, score_pool_[i - 1]->forward(pooled[p - 1 - i]));
    }
    ops::Tensor logits = ops::crop2d(upscore_->forward(score), 0, 0, x.dim(2), x.dim(3));
    if (!refine_) return logits;
    return ops::add(logits, refine_->forward(ops::concat({logits, x, full})));
  }

 private:
  // up(score) cropped to skip's size, plus skip: (N, K, h, w).
  static ops::Tensor fuse(const std::shared_ptr<Module>& up, const ops::Tensor& score,
                          const ops::Tensor& skip) {
    ops::Tensor u = ops::crop2d(up->forward(score), 0, 0, skip.dim(2), skip.dim(3));
    return ops::add(u, skip);
  }

  int64_t skips_, full_channels_ = 0;
  // Run in order; true where the child halves the image.
  std::vector<std::pair<std::shared_ptr<Module>, bool>> backbone_;
  std::shared_ptr<Module> fc6_, drop6_, fc7_, drop7_, score_fr_;
  std::vector<std::shared_ptr<Module>> score_pool_, upscore_skip_;  // per skip, coarse to fine
  std::shared_ptr<Module> upscore_, refine_;  // refine_: null without refinement
};

}  // namespace

void read_fcn_options(SpecReader& r, FcnOptions& o) {
  r.string("head", o.head, {"16s", "2s", "32s", "4s", "8s"});
  if (const nlohmann::json* b = r.raw("backbone")) {
    SpecReader br(*b, r.child("backbone"), r.problems());
    br.string("name", o.backbone, {"resnet", "vgg"});
    if (o.backbone == "resnet") {
      read_resnet_options(br, o.resnet);
      if (o.resnet.layout != "cifar")
        br.problem("layout", "a resnet backbone is cifar layout, got " + o.resnet.layout);
    } else {
      br.integer("depth", o.backbone_depth, 11, 19);
      if (vgg_stack(o.backbone_depth).empty())
        br.problem("depth", "must be 11, 13, 16 or 19, got " + std::to_string(o.backbone_depth));
      read_vgg_stack(br, o.backbone_stack);
      br.boolean("batch_norm", o.batch_norm);
    }
  }
  r.integer("head_width", o.head_width, 1, 65536);
  r.integer("head_kernel", o.head_kernel, 1, 15);
  if (o.head_kernel % 2 == 0) r.problem("head_kernel", "must be odd");
  r.number("dropout", o.dropout, 0.0, 0.99);
  r.integer("refine_width", o.refine_width, 0, 4096);
  r.integer("refine_layers", o.refine_layers, 0, 16);
}

std::shared_ptr<Module> make_fcn(const FcnOptions& o, const ModelConfig& cfg,
                                 std::mt19937_64& rng) {
  RM_THROW_IF(cfg.in_channels <= 0 || cfg.num_classes <= 0, "fcn: in_channels ", cfg.in_channels,
              " and num_classes ", cfg.num_classes, " must be positive");
  return std::make_shared<Fcn>(o, cfg, rng);
}

}  // namespace ringmaster::models
