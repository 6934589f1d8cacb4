// fcn: the bilinear-initialised transposed convolution equals bilinear
// upsampling (resize_bilinear, align_corners=False) wherever both taps fall
// inside the input; per-pixel output shapes for 32s/16s/8s/4s, also for sizes
// the pools do not divide; skip scores start at zero;
// backward reaches the skip layers; a fresh full-resolution refinement
// leaves the logits unchanged and trains; a resnet backbone takes a resnet
// classifier's weights by name and labels every pixel; head/backbone
// validation.
#include "models/fcn.h"

#include <gtest/gtest.h>

#include <cmath>

#include "models/layers.h"
#include "models/model_registry.h"
#include "ops/resize.h"
#include "ops/softmax.h"

namespace ringmaster::models {
namespace {

using ops::Tensor;

const nlohmann::json kSmall = {{"backbone", {{"stack", {8, "M", 8, "M", 16, "M", 16, "M"}}}},
                               {"head_width", 16},
                               {"head_kernel", 3}};

std::shared_ptr<Module> fcn(nlohmann::json options, const std::string& head, ModelConfig cfg,
                            uint64_t seed = 1) {
  options["head"] = head;
  std::mt19937_64 rng(seed);
  return build_model("fcn", cfg, rng, options);
}

TEST(Fcn, BilinearDeconvolutionEqualsBilinearUpsampling) {
  std::mt19937_64 rng(1);
  for (int64_t s : {2, 4, 8, 16, 32}) {
    const int64_t c = 3, h = 5, w = 4;
    ConvTranspose2d up(c, c, 2 * s, rng,
                       ConvTranspose2dOptions{.stride = s, .padding = s / 2, .bias = false});
    const Tensor bw = bilinear_upsampling_weight(c, 2 * s);
    std::copy_n(bw.data<float>(), bw.numel(), up.weight.data<float>());
    Tensor x = Tensor::uniform({2, c, h, w}, rng, -1, 1);
    const std::vector<float> got = up.forward(x).to_plain().to_vector();
    const std::vector<float> want =
        ops::resize_bilinear(x, ops::ResizeParams::to(h * s, w * s, false)).to_vector();
    ASSERT_EQ(got.size(), want.size());
    // Output pixel i samples input (i + 0.5)/s - 0.5; within [0, in - 1] both
    // taps are real pixels, outside one is the deconvolution's zero padding.
    auto inside = [s](int64_t i, int64_t in) {
      const double src = (static_cast<double>(i) + 0.5) / static_cast<double>(s) - 0.5;
      return src >= 0.0 && src <= static_cast<double>(in - 1);
    };
    int64_t checked = 0;
    double worst = 0.0;
    for (int64_t n = 0; n < 2 * c; ++n) {
      for (int64_t i = 0; i < h * s; ++i) {
        for (int64_t j = 0; j < w * s; ++j) {
          if (!inside(i, h) || !inside(j, w)) continue;
          const size_t k = static_cast<size_t>((n * h * s + i) * w * s + j);
          worst = std::max(worst, static_cast<double>(std::fabs(got[k] - want[k])));
          ++checked;
        }
      }
    }
    EXPECT_EQ(checked, 2 * c * (h - 1) * s * (w - 1) * s) << "stride " << s;
    EXPECT_LE(worst, 1e-5) << "stride " << s;
  }
}

TEST(Fcn, BilinearWeightIsDiagonalAndSumsToStrideSquared) {
  // Each output pixel of a stride-s bilinear deconvolution takes weights that
  // sum to 1 from its input taps, so a kernel sums to s*s.
  const Tensor w = bilinear_upsampling_weight(2, 8);
  const std::vector<float> v = w.to_vector();
  double diag = 0, off = 0;
  for (int64_t i = 0; i < 64; ++i) {
    diag += v[static_cast<size_t>(i)];                 // [0][0]
    off += std::fabs(v[static_cast<size_t>(64 + i)]);  // [0][1]
  }
  EXPECT_NEAR(diag, 16.0, 1e-5);
  EXPECT_EQ(off, 0.0);
}

TEST(Fcn, PerPixelOutputForEveryHead) {
  std::mt19937_64 rng(2);
  for (const char* head : {"32s", "16s", "8s", "4s"}) {
    for (int64_t size : {32, 28, 37}) {
      auto net = fcn(kSmall, head, {.in_channels = 3, .num_classes = 5, .image_size = 32});
      Tensor y = net->forward(Tensor::uniform({2, 3, size, size + 3}, rng, 0, 1));
      EXPECT_EQ(y.shape(), (ops::Shape{2, 5, size, size + 3})) << head << " " << size;
    }
  }
  // 2s: every pool of a 5-pool backbone fused, a x2 upsampling at the end.
  nlohmann::json five_pools = kSmall;
  five_pools["backbone"]["stack"] = {8, "M", 8, "M", 16, "M", 16, "M", 16, "M"};
  for (int64_t size : {32, 37}) {
    auto net = fcn(five_pools, "2s", {.in_channels = 3, .num_classes = 5, .image_size = 32});
    EXPECT_TRUE(net->state_dict().count("score_pool1.weight"));
    EXPECT_TRUE(net->state_dict().count("upscore_pool2.weight"));
    Tensor y = net->forward(Tensor::uniform({2, 3, size, size + 3}, rng, 0, 1));
    EXPECT_EQ(y.shape(), (ops::Shape{2, 5, size, size + 3})) << "2s " << size;
  }
}

TEST(Fcn, SkipScoresStartAtZeroAndUpsamplersBilinear) {
  auto net = fcn(kSmall, "8s", {.in_channels = 3, .num_classes = 4, .image_size = 32});
  const TensorMap sd = net->state_dict();
  for (const char* n :
       {"score_pool3.weight", "score_pool3.bias", "score_pool4.weight", "score_pool4.bias"}) {
    for (float v : sd.at(n).to_vector()) ASSERT_EQ(v, 0.0f) << n;
  }
  // 4 pools: score_fr at stride 16, two x2 fusions, then x4 to the input.
  EXPECT_EQ(sd.at("upscore2.weight").shape(), (ops::Shape{4, 4, 4, 4}));
  EXPECT_EQ(sd.at("upscore_pool4.weight").shape(), (ops::Shape{4, 4, 4, 4}));
  EXPECT_EQ(sd.at("upscore.weight").shape(), (ops::Shape{4, 4, 8, 8}));
  EXPECT_EQ(sd.at("upscore.weight").to_vector(), bilinear_upsampling_weight(4, 8).to_vector());
  EXPECT_FALSE(sd.count("upscore.bias"));
  // 4s: a third fusion with the pool before (stride 4), then x2 to the input.
  const TensorMap sd4 =
      fcn(kSmall, "4s", {.in_channels = 3, .num_classes = 4, .image_size = 32})->state_dict();
  for (float v : sd4.at("score_pool2.weight").to_vector()) ASSERT_EQ(v, 0.0f);
  EXPECT_EQ(sd4.at("score_pool2.weight").shape(), (ops::Shape{4, 8, 1, 1}));  // 8 channels there
  EXPECT_EQ(sd4.at("upscore_pool3.weight").shape(), (ops::Shape{4, 4, 4, 4}));
  EXPECT_EQ(sd4.at("upscore.weight").shape(), (ops::Shape{4, 4, 4, 4}));
  EXPECT_FALSE(sd4.count("score_pool1.weight"));
}

TEST(Fcn, BackwardReachesSkipLayers) {
  std::mt19937_64 rng(4);
  auto net = fcn(kSmall, "4s", {.in_channels = 1, .num_classes = 3, .image_size = 16});
  Tensor logits = net->forward(Tensor::uniform({2, 1, 16, 16}, rng, 0, 1));  // (2, 3, 16, 16)
  logits.backward(Tensor::uniform(logits.shape(), rng, -1, 1));
  for (const char* n : {"score_pool2.weight", "score_pool3.weight", "score_pool4.weight",
                        "upscore.weight", "features.0.weight"}) {
    bool found = false;
    for (const auto& [name, p] : net->named_parameters()) {
      if (name != n) continue;
      found = true;
      ASSERT_TRUE(p.grad().defined()) << n;
      double s = 0;
      for (float g : p.grad().to_vector()) s += std::fabs(g);
      EXPECT_GT(s, 0.0) << n;
    }
    EXPECT_TRUE(found) << n;
  }
}

TEST(Fcn, FreshRefinementLeavesLogitsUnchangedAndBackwardReachesIt) {
  nlohmann::json refined = kSmall;
  refined["refine_width"] = 6;
  refined["refine_layers"] = 2;
  std::mt19937_64 rng(5);
  for (int64_t size : {16, 19}) {
    const ModelConfig cfg{.in_channels = 2, .num_classes = 3, .image_size = 16};
    auto plain = fcn(kSmall, "4s", cfg, 7);
    auto net = fcn(refined, "4s", cfg, 7);
    const TensorMap sd = net->state_dict();
    // [3 logits, 2 input channels, 8 channels before the first pool] -> 6 -> 6 -> 3.
    EXPECT_EQ(sd.at("refine.0.weight").shape(), (ops::Shape{6, 13, 3, 3}));
    EXPECT_EQ(sd.at("refine.1.weight").shape(), (ops::Shape{6, 6, 3, 3}));
    EXPECT_EQ(sd.at("refine.2.weight").shape(), (ops::Shape{3, 6, 3, 3}));
    for (float v : sd.at("refine.2.weight").to_vector()) ASSERT_EQ(v, 0.0f);
    // Built last: every other parameter is the plain model's.
    for (const auto& [name, t] : plain->state_dict())
      EXPECT_EQ(t.to_vector(), sd.at(name).to_vector()) << name;
    net->eval();
    plain->eval();
    const Tensor x = Tensor::uniform({2, 2, size, size + 1}, rng, 0, 1);
    const Tensor y = net->forward(x);
    EXPECT_EQ(y.shape(), (ops::Shape{2, 3, size, size + 1}));
    EXPECT_EQ(y.to_plain().to_vector(), plain->forward(x).to_plain().to_vector()) << size;
  }
  // Backward: the zero output conv gets a gradient at once; once it is not
  // zero, the hidden convs and (through the stride-1 input) features.0 do too.
  auto net = fcn(refined, "4s", {.in_channels = 1, .num_classes = 3, .image_size = 16}, 8);
  auto grad_sum = [&](const std::string& n) {
    for (const auto& [name, p] : net->named_parameters()) {
      if (name != n) continue;
      if (!p.grad().defined()) return 0.0;
      double s = 0;
      for (float g : p.grad().to_vector()) s += std::fabs(g);
      return s;
    }
    ADD_FAILURE() << "no parameter " << n;
    return 0.0;
  };
  auto step = [&] {
    for (auto [name, p] : net->named_parameters()) p.set_grad(Tensor());
    Tensor y = net->forward(Tensor::uniform({2, 1, 16, 16}, rng, 0, 1));
    y.backward(Tensor::uniform(y.shape(), rng, -1, 1));
  };
  step();
  EXPECT_GT(grad_sum("refine.2.weight"), 0.0);
  EXPECT_EQ(grad_sum("refine.0.weight"), 0.0);
  for (const auto& [name, p] : net->named_parameters()) {
    if (name != "refine.2.weight") continue;
    Tensor w = p;
    const Tensor r = Tensor::uniform(w.shape(), rng, -0.1, 0.1);
    std::copy_n(r.data<float>(), r.numel(), w.data<float>());
  }
  step();
  for (const char* n : {"refine.0.weight", "refine.1.weight", "refine.2.weight", "upscore.weight",
                        "features.0.weight"})
    EXPECT_GT(grad_sum(n), 0.0) << n;
}

TEST(Fcn, ResNetBackboneTakesAClassifiersWeightsAndLabelsEveryPixel) {
  const nlohmann::json options = {{"backbone", {{"name", "resnet"}, {"depth", 8}, {"width", 4}}},
                                  {"head_width", 8},
                                  {"head_kernel", 3},
                                  {"refine_width", 4}};
  const ModelConfig cfg{.in_channels = 1, .num_classes = 3, .image_size = 16};
  auto net = fcn(options, "16s", cfg, 3);
  // A cifar resnet classifier's tensors, fc aside, are the backbone's: same
  // names, same shapes, and loading them copies them.
  std::mt19937_64 rng(4);
  auto classifier = build_model("resnet", {.in_channels = 1, .num_classes = 10, .image_size = 28},
                                rng, {{"depth", 8}, {"width", 4}});
  TensorMap backbone;
  for (const auto& [name, t] : classifier->state_dict())
    if (name.rfind("fc.", 0) != 0) backbone.emplace(name, t);
  ASSERT_GT(backbone.size(), 10u);
  const TensorMap before = net->state_dict();
  for (const auto& [name, t] : backbone) {
    ASSERT_TRUE(before.count(name)) << name;
    EXPECT_EQ(before.at(name).shape(), t.shape()) << name;
  }
  net->load_state_dict(backbone, /*strict=*/false);
  const TensorMap after = net->state_dict();
  for (const auto& [name, t] : backbone) {
    if (t.dtype() == ops::DType::f32) {  // not BatchNorm's i64 batch count
      EXPECT_EQ(after.at(name).to_vector(), t.to_vector()) << name;
    }
  }
  // refine.0 sees [3 logits, 1 input channel, layer1's 4 channels].
  EXPECT_EQ(after.at("refine.0.weight").shape(), (ops::Shape{4, 8, 3, 3}));
  EXPECT_EQ(after.at("score_pool4.weight").shape(), (ops::Shape{3, 8, 1, 1}));  // layer2: 8
  EXPECT_EQ(after.at("fc6.weight").shape(), (ops::Shape{8, 16, 3, 3}));         // layer3: 16
  // Every pixel, sizes the strides do not divide included; backward reaches
  // the stem, the zero skip and the refinement's output.
  for (int64_t size : {16, 19}) {
    for (auto [name, p] : net->named_parameters()) p.set_grad(Tensor());
    const Tensor x = Tensor::uniform({2, 1, size, size + 2}, rng, 0, 1);
    Tensor y = net->forward(x);
    ASSERT_EQ(y.shape(), (ops::Shape{2, 3, size, size + 2}));
    y.backward(Tensor::uniform(y.shape(), rng, -1, 1));
    for (const auto& [name, p] : net->named_parameters()) {
      if (name != "conv1.weight" && name != "layer1.0.conv1.weight" &&
          name != "score_pool4.weight" && name != "refine.2.weight")
        continue;
      ASSERT_TRUE(p.grad().defined()) << name;
      double g = 0;
      for (float v : p.grad().to_vector()) g += std::fabs(v);
      EXPECT_GT(g, 0.0) << name << " at size " << size;
    }
  }
  // Two downsamplings: 16s at most.
  EXPECT_THROW(fcn(options, "8s", cfg), ops::Error);
}

TEST(Fcn, HeadNeedsEnoughPoolsAndOptionsAreValidated) {
  nlohmann::json two_pools = kSmall;
  two_pools["backbone"]["stack"] = {8, "M", 8, "M"};
  EXPECT_THROW(fcn(two_pools, "8s", {.in_channels = 1, .num_classes = 2, .image_size = 16}),
               ops::Error);
  EXPECT_NO_THROW(fcn(two_pools, "16s", {.in_channels = 1, .num_classes = 2, .image_size = 16}));
  // 2s needs 5 pools; kSmall has 4.
  EXPECT_THROW(fcn(kSmall, "2s", {.in_channels = 1, .num_classes = 2, .image_size = 32}),
               ops::Error);
  // Its ceil-mode pools keep 1 px (16 8 4 2 1 1, as PyTorch's do): a fifth
  // pool on 16 px still gives a net whose output is the image's size.
  nlohmann::json five_pools = kSmall;
  five_pools["backbone"]["stack"] = {8, "M", 8, "M", 16, "M", 16, "M", "M"};
  std::mt19937_64 rng(4);
  auto net = fcn(five_pools, "8s", {.in_channels = 1, .num_classes = 2, .image_size = 16});
  EXPECT_EQ(net->forward(Tensor::uniform({1, 1, 16, 16}, rng, 0, 1)).shape(),
            (ops::Shape{1, 2, 16, 16}));
  std::vector<SpecProblem> problems;
  {
    SpecReader r(nlohmann::json{{"head", "3s"},
                                {"backbone", {{"depth", 15}, {"x", 1}}},
                                {"head_kernel", 4},
                                {"refine_width", -1},
                                {"refine_layers", 17}},
                 "/model", problems);
    FcnOptions o;
    read_fcn_options(r, o);
  }
  {
    SpecReader r(nlohmann::json{{"backbone", {{"name", "resnet"}, {"depth", 18}, {"width", 5}}}},
                 "/model", problems);
    FcnOptions o;
    read_fcn_options(r, o);
  }
  std::vector<std::string> pointers;
  for (const auto& p : problems) pointers.push_back(p.pointer);
  EXPECT_EQ(pointers, (std::vector<std::string>{"/model/head", "/model/backbone/depth",
                                                "/model/backbone/x", "/model/head_kernel",
                                                "/model/refine_width", "/model/refine_layers",
                                                "/model/backbone/depth", "/model/backbone/width"}));
}

}  // namespace
}  // namespace ringmaster::models
