// faster_rcnn: at torchvision's layout (ResNet-50, FPN, 91 classes) it has
// fasterrcnn_resnet50_fpn's parameters name for name and shape for shape
// (the list torchvision 0.14 printed: tests/models/fasterrcnn_reference.py);
// a small one trains on images with boxes (its four losses fall on a
// fixed batch) and detects in evaluation (rows best first, inside the
// image, classes of the data); bad options are refused naming the field.
#include "models/faster_rcnn.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "models/box_sampling.h"
#include "ops/add.h"
#include "ops/autograd.h"

namespace ringmaster::models {
namespace {

std::string shape_of(const ops::Tensor& t) {
  std::ostringstream s;
  for (size_t i = 0; i < t.shape().size(); ++i) s << (i > 0 ? "x" : "") << t.shape()[i];
  return s.str();
}

TEST(FasterRcnn, ResNet50FpnHasTorchvisionsParameters) {
  std::ifstream in(std::string(RINGMASTER_SOURCE_DIR) +
                   "/tests/models/data/fasterrcnn_resnet50_fpn_parameters.txt");
  ASSERT_TRUE(in) << "the reference list is missing";
  std::vector<std::pair<std::string, std::string>> expected;
  int64_t expected_total = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string name, shape;
    words >> name >> shape;
    if (name == "#") {
      if (shape == "total") words >> expected_total;
      continue;
    }
    expected.emplace_back(name, shape);
  }
  ASSERT_EQ(expected_total, 41808406);  // what torchvision 0.14 printed
  std::mt19937_64 rng(1);
  const ModelConfig cfg{.in_channels = 3, .num_classes = 91, .image_size = 64};
  const nlohmann::json options = {{"backbone", {{"name", "resnet"}, {"depth", 50}}},
                                  {"fpn", true},
                                  {"anchor_sizes", {8, 16, 32, 48, 64}}};
  const std::shared_ptr<Module> m = build_model("faster_rcnn", cfg, rng, options);
  EXPECT_EQ(m->num_parameters(), expected_total);
  std::vector<std::pair<std::string, std::string>> ours;
  for (const auto& [name, t] : m->named_parameters()) ours.emplace_back(name, shape_of(t));
  EXPECT_EQ(ours, expected);
}

// Two 64 px images: bright rectangles (class 1 wide, class 2 tall) on dark
// noise, and their boxes.
struct Scene {
  ops::Tensor images, boxes, classes;
};
Scene scene() {
  Scene s;
  std::mt19937_64 rng(3);
  s.images = ops::Tensor::uniform({2, 1, 64, 64}, rng, 0.0f, 0.2f);
  s.boxes = ops::Tensor::zeros({2, 3, 4});
  s.classes = ops::Tensor::empty({2, 3}, ops::DType::i64);
  const float rects[2][3][5] = {{{4, 6, 28, 18, 1}, {40, 30, 52, 60, 2}, {0, 0, 0, 0, -1}},
                                {{10, 40, 40, 54, 1}, {44, 4, 56, 30, 2}, {20, 8, 32, 34, 2}}};
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t j = 0; j < 3; ++j) {
      const float* r = rects[i][j];
      s.classes.data<int64_t>()[i * 3 + j] = static_cast<int64_t>(r[4]);
      std::copy_n(r, 4, s.boxes.data<float>() + (i * 3 + j) * 4);
      for (auto y = static_cast<int64_t>(r[1]); y < static_cast<int64_t>(r[3]); ++y)
        for (auto x = static_cast<int64_t>(r[0]); x < static_cast<int64_t>(r[2]); ++x)
          s.images.data<float>()[(i * 64 + y) * 64 + x] = 0.9f;
    }
  }
  return s;
}

std::shared_ptr<Module> small_detector(std::mt19937_64& rng, nlohmann::json extra = {}) {
  nlohmann::json o = {{"backbone", {{"name", "resnet"}, {"depth", 8}, {"width", 8}}},
                      {"anchor_sizes", {8, 16, 32}},
                      {"rpn_pre_nms_top_n_train", 300},
                      {"rpn_post_nms_top_n_train", 100},
                      {"rpn_pre_nms_top_n_test", 200},
                      {"rpn_post_nms_top_n_test", 50},
                      {"rpn_batch_size_per_image", 64},
                      {"box_batch_size_per_image", 32},
                      {"representation_size", 32},
                      {"box_detections_per_img", 10}};
  for (const auto& [k, v] : extra.items()) o[k] = v;
  return build_model("faster_rcnn", {.in_channels = 1, .num_classes = 3, .image_size = 64}, rng, o);
}

double total_loss(Module& m, const ModelInput& in, bool step, float lr) {
  std::vector<ops::Tensor> heads = m.training_heads_batch(in);
  EXPECT_EQ(heads.size(), 4u);
  double sum = 0.0;
  ops::Tensor loss;
  for (const ops::Tensor& h : heads) {
    EXPECT_EQ(h.ndim(), 0);
    EXPECT_TRUE(std::isfinite(h.item()));
    sum += h.item();
    loss = loss.defined() ? ops::add(loss, h) : h;
  }
  if (!step) return sum;
  for (ops::Tensor p : m.parameters()) p.set_grad({});
  loss.backward();
  for (const auto& [name, p] : m.named_parameters()) {
    EXPECT_TRUE(p.grad().defined()) << name << " got no gradient";
    if (!p.grad().defined()) continue;
    const std::vector<float> g = p.grad().to_vector();
    float* w = p.data<float>();
    for (size_t i = 0; i < g.size(); ++i) w[i] -= lr * g[i];
  }
  return sum;
}

TEST(FasterRcnn, TrainsOnBoxesAndDetects) {
  std::mt19937_64 rng(7);
  std::shared_ptr<Module> m = small_detector(rng);
  const Scene s = scene();
  const ModelInput in{s.images, {}, s.boxes, s.classes};
  // The draws of anchors and RoIs make single steps noisy: compare the
  // mean of the last five steps with the first.
  const double first = total_loss(*m, in, true, 0.03f);
  double last = 0.0;
  for (int step = 0; step < 60; ++step) {
    const double l = total_loss(*m, in, true, 0.03f);
    if (step >= 55) last += l / 5.0;
  }
  EXPECT_LT(last, 0.5 * first) << "from " << first;
  m->train(false);
  ops::NoGradGuard no_grad;
  const ops::Tensor det = m->forward(s.images);
  ASSERT_EQ(det.shape(), (ops::Shape{2, 10, 6}));
  for (int64_t i = 0; i < 2; ++i) {
    float previous = 2.0f;
    for (int64_t j = 0; j < 10; ++j) {
      const float* r = det.data<float>() + (i * 10 + j) * 6;
      if (r[5] < 0) continue;
      EXPECT_TRUE(r[5] == 1.0f || r[5] == 2.0f) << r[5];
      EXPECT_LE(r[4], previous);
      previous = r[4];
      EXPECT_GE(r[0], 0.0f);
      EXPECT_GE(r[1], 0.0f);
      EXPECT_LE(r[2], 64.0f);
      EXPECT_LE(r[3], 64.0f);
    }
  }
  // The images' boxes are needed to train.
  m->train(true);
  EXPECT_THROW(m->training_heads_batch({s.images, {}, {}, {}}), ops::Error);
}

TEST(FasterRcnn, AnImageWithoutBoxesTrainsOnBackground) {
  std::mt19937_64 rng(8);
  std::shared_ptr<Module> m = small_detector(rng);
  Scene s = scene();
  std::fill_n(s.classes.data<int64_t>(), 6, int64_t{-1});
  const double loss = total_loss(*m, {s.images, {}, s.boxes, s.classes}, true, 0.01f);
  EXPECT_GT(loss, 0.0);
}

TEST(FasterRcnn, BadOptionsAreRefusedNamingTheField) {
  std::mt19937_64 rng(9);
  auto error_of = [&](nlohmann::json extra) -> std::string {
    try {
      small_detector(rng, std::move(extra));
    } catch (const std::exception& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error_of({{"anchor_sizes", {16, 128}}}).find("model.anchor_sizes: an anchor of 128 px"),
            std::string::npos);
  EXPECT_NE(error_of({{"fpn", true}, {"fpn_channels", 8}})
                .find("model.anchor_sizes: the pyramid has 4 levels"),
            std::string::npos);
  EXPECT_NE(error_of({{"backbone", {{"name", "vgg"}}}}).find("/backbone/name"), std::string::npos);
  EXPECT_NE(error_of({{"anchor_sizes", {-4}}}).find("/anchor_sizes"), std::string::npos);
  EXPECT_NE(error_of({{"rpn_bg_iou_thresh", 0.9}}).find("/rpn_bg_iou_thresh"), std::string::npos);
}

TEST(FasterRcnn, APyramidTrainsToo) {
  std::mt19937_64 rng(10);
  std::shared_ptr<Module> m =
      small_detector(rng, {{"fpn", true}, {"fpn_channels", 8}, {"anchor_sizes", {8, 16, 32, 48}}});
  const Scene s = scene();
  const ModelInput in{s.images, {}, s.boxes, s.classes};
  const double first = total_loss(*m, in, true, 0.02f);
  double last = first;
  for (int step = 0; step < 20; ++step) last = total_loss(*m, in, true, 0.02f);
  EXPECT_LT(last, first);
}

TEST(BoxSampling, MatchesByThresholdsAndKeepsEachBoxsBest) {
  // Four candidates, two truths (rows: candidates).
  const std::vector<float> iou = {0.8f, 0.1f,   //
                                  0.5f, 0.2f,   //
                                  0.1f, 0.35f,  //
                                  0.0f, 0.2f};
  EXPECT_EQ(match_boxes(iou, 4, 2, 0.7, 0.3, false),
            (std::vector<int64_t>{0, kBetween, kBetween, kBelowLow}));
  // Truth 1's best candidate (IoU 0.35, candidate 2) is matched to it anyway.
  EXPECT_EQ(match_boxes(iou, 4, 2, 0.7, 0.3, true),
            (std::vector<int64_t>{0, kBetween, 1, kBelowLow}));
  EXPECT_EQ(match_boxes({}, 3, 0, 0.7, 0.3, true),
            (std::vector<int64_t>{kBelowLow, kBelowLow, kBelowLow}));
}

TEST(BoxSampling, DrawsAFixedShareWithoutReplacement) {
  std::vector<int64_t> matches(100, kBelowLow);
  for (int i = 0; i < 10; ++i) matches[static_cast<size_t>(i * 7)] = 0;  // 10 positives
  matches[1] = kBetween;
  std::mt19937_64 rng(1);
  const BalancedSample a = sample_balanced(matches, 16, 0.25, rng);
  EXPECT_EQ(a.positive.size(), 4u);
  EXPECT_EQ(a.negative.size(), 12u);
  for (const int64_t k : a.positive) EXPECT_GE(matches[static_cast<size_t>(k)], 0);
  for (const int64_t k : a.negative) EXPECT_EQ(matches[static_cast<size_t>(k)], kBelowLow);
  EXPECT_TRUE(std::is_sorted(a.negative.begin(), a.negative.end()));
  EXPECT_EQ(std::adjacent_find(a.negative.begin(), a.negative.end()), a.negative.end());
  // Few positives: the rest of the batch is background.
  const BalancedSample b = sample_balanced(matches, 64, 0.5, rng);
  EXPECT_EQ(b.positive.size(), 10u);
  EXPECT_EQ(b.negative.size(), 54u);
}

}  // namespace
}  // namespace ringmaster::models

namespace ringmaster::models {
namespace {

// rcnn: selective search's proposals, warped and classified by a library
// classifier with its head left out; it trains on the same scene (its two
// losses fall) and detects; a classifier that is not one is refused.
TEST(Rcnn, TrainsOnBoxesAndDetects) {
  std::mt19937_64 rng(11);
  const nlohmann::json o = {{"classifier", {{"name", "resnet"}, {"depth", 8}, {"width", 8}}},
                            {"warp_size", 16},
                            {"box_batch_size_per_image", 32},
                            {"box_detections_per_img", 10}};
  std::shared_ptr<Module> m =
      build_model("rcnn", {.in_channels = 1, .num_classes = 3, .image_size = 64}, rng, o);
  const Scene s = scene();
  const ModelInput in{s.images, {}, s.boxes, s.classes};
  const auto loss = [&](bool step) {
    std::vector<ops::Tensor> heads = m->training_heads_batch(in);
    EXPECT_EQ(heads.size(), 2u);
    ops::Tensor total = ops::add(heads[0], heads[1]);
    const double v = total.item();
    if (step) {
      for (ops::Tensor p : m->parameters()) p.set_grad({});
      total.backward();
      for (const auto& [name, p] : m->named_parameters()) {
        if (!p.grad().defined()) continue;
        const std::vector<float> g = p.grad().to_vector();
        float* w = p.data<float>();
        for (size_t i = 0; i < g.size(); ++i) w[i] -= 0.05f * g[i];
      }
    }
    return v;
  };
  const double first = loss(true);
  double last = 0.0;
  for (int step = 0; step < 40; ++step) {
    const double l = loss(true);
    if (step >= 35) last += l / 5.0;
  }
  EXPECT_LT(last, 0.6 * first) << "from " << first;
  m->train(false);
  ops::NoGradGuard no_grad;
  const ops::Tensor det = m->forward(s.images);
  ASSERT_EQ(det.shape(), (ops::Shape{2, 10, 6}));
  for (int64_t r = 0; r < 20; ++r) {
    const float* row = det.data<float>() + r * 6;
    if (row[5] < 0) continue;
    EXPECT_TRUE(row[5] == 1.0f || row[5] == 2.0f);
    EXPECT_GE(row[0], 0.0f);
    EXPECT_LE(row[2], 64.0f);
  }
  try {
    build_model("rcnn", {.in_channels = 1, .num_classes = 3, .image_size = 64}, rng,
                {{"classifier", {{"name", "rnn_lm"}}}});
    ADD_FAILURE() << "a text model is not a classifier of images";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/classifier/name"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ringmaster::models
