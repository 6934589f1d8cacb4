// Tasks: what classification and segmentation count (against counts made by
// hand), the IoU figures, the detection figures, and the tally's flat form
// that ranks sum.
#include "training/task.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ringmaster::training {
namespace {

// Logits (N, C, S) whose arg-max over C is `classes` (N*S, in (N, S) order).
ops::Tensor logits_for(const std::vector<int64_t>& classes, int64_t n, int64_t c, int64_t s) {
  std::vector<float> v(static_cast<size_t>(n * c * s), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < s; ++j)
      v[static_cast<size_t>((i * c + classes[static_cast<size_t>(i * s + j)]) * s + j)] = 1.0f;
  return ops::Tensor::from_vector(v, s == 1 ? ops::Shape{n, c} : ops::Shape{n, c, 1, s});
}

ops::Tensor labels(const std::vector<int64_t>& v, ops::Shape shape) {
  ops::Tensor t = ops::Tensor::empty(shape, ops::DType::i64);
  std::copy(v.begin(), v.end(), t.data<int64_t>());
  return t;
}

TEST(Task, PredictedClassesIsTheArgMaxOfEveryUnit) {
  const std::vector<int64_t> want = {2, 0, 1, 1, 0, 2};
  EXPECT_EQ(predicted_classes(logits_for(want, 2, 3, 3)), want);
  EXPECT_EQ(predicted_classes(logits_for(want, 6, 3, 1)), want);
}

TEST(Task, ClassificationCountsCorrectImages) {
  const auto task = make_task(TaskKind::kClassification, 3);
  models::Batch b;
  b.labels = labels({2, 0, 1, 2}, {4});
  Tally t = task->new_tally();
  task->count(logits_for({2, 1, 1, 0}, 4, 3, 1), b, t);
  EXPECT_EQ(t.correct, 2.0);
  EXPECT_EQ(t.units, 4.0);
  EXPECT_TRUE(t.task.empty());
  t.samples = 4;
  t.loss_sum = 2.0;
  const Evaluation ev = task->evaluate(t);
  EXPECT_DOUBLE_EQ(ev.accuracy, 0.5);
  EXPECT_DOUBLE_EQ(ev.loss, 0.5);
  EXPECT_EQ(ev.mean_iou, -1.0);
  EXPECT_EQ(task->describe(1, ev), "");
}

TEST(Task, SegmentationCountsPixelsAndIntersectionOverUnion) {
  const auto task = make_task(TaskKind::kSegmentation, 3);
  models::Batch b;
  // One image of 1x5 pixels: truth 0 0 1 1 1, predicted 0 1 1 1 0.
  b.labels = labels({0}, {1});
  b.masks = labels({0, 0, 1, 1, 1}, {1, 1, 5});
  Tally t = task->new_tally();
  ASSERT_EQ(t.task.size(), 6u);
  task->count(logits_for({0, 1, 1, 1, 0}, 1, 3, 5), b, t);
  t.samples = 1;
  EXPECT_EQ(t.correct, 3.0);
  EXPECT_EQ(t.units, 5.0);
  const Evaluation ev = task->evaluate(t);
  // Class 0: intersection 1, union 3; class 1: 2 and 4; class 2 absent.
  ASSERT_EQ(ev.class_iou.size(), 3u);
  EXPECT_DOUBLE_EQ(ev.class_iou[0], 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(ev.class_iou[1], 0.5);
  EXPECT_EQ(ev.class_iou[2], -1.0);
  EXPECT_DOUBLE_EQ(ev.mean_iou, (1.0 / 3.0 + 0.5) / 2.0);
  EXPECT_DOUBLE_EQ(ev.accuracy, 0.6);
  EXPECT_NE(task->describe(2, ev).find("epoch 2: test pixel accuracy 60.00%, mean IoU 0.4167"),
            std::string::npos)
      << task->describe(2, ev);
}

TEST(Task, TalliesRoundTripThroughTheirFlatForm) {
  const auto task = make_task(TaskKind::kSegmentation, 2);
  Tally a = task->new_tally(), b = task->new_tally();
  a.loss_sum = 1.5;
  a.loss_samples = 3;
  a.samples = 4;
  a.correct = 5;
  a.units = 6;
  a.task = {7, 8, 9, 10};
  b.loss_sum = 11;
  b.task = {12, 13, 14, 15};
  std::vector<double> flat;
  a.append_to(flat);
  b.append_to(flat);
  ASSERT_EQ(flat.size(), a.flat_size() + b.flat_size());
  Tally a2 = task->new_tally(), b2 = task->new_tally();
  size_t at = 0;
  a2.read_from(flat, at);
  b2.read_from(flat, at);
  EXPECT_EQ(at, flat.size());
  EXPECT_EQ(a2.loss_sum, 1.5);
  EXPECT_EQ(a2.units, 6);
  EXPECT_EQ(a2.task, a.task);
  EXPECT_EQ(b2.loss_sum, 11);
  EXPECT_EQ(b2.task, b.task);
}

// Windows (N, L + 1) of ids; logits (L, N, V) that predict `guess`.
TEST(Task, LanguageModelScoresEachTokenOnTheOnesBeforeIt) {
  const auto task = make_task(TaskKind::kLanguageModel, 6);
  models::Batch b;
  b.tokens = labels({4, 5, 4, /**/ 5, 5, 0}, {2, 3});  // the second window ends in a pad
  b.labels = labels({0, 0}, {2});
  const models::ModelInput in = task->model_input(b);
  EXPECT_FALSE(in.images.defined());
  ASSERT_EQ(in.tokens.shape(), (ops::Shape{2, 2}));
  EXPECT_EQ(std::vector<int64_t>(in.tokens.data<int64_t>(), in.tokens.data<int64_t>() + 4),
            (std::vector<int64_t>{4, 5, 5, 5}));
  // Targets, time-major: t0 (5, 5), t1 (4, pad). Guess 5 everywhere.
  std::vector<float> z(2 * 2 * 6, 0.0f);
  for (int p = 0; p < 4; ++p) z[static_cast<size_t>(p * 6 + 5)] = 2.0f;
  const ops::Tensor logits = ops::Tensor::from_vector(z, {2, 2, 6});
  Tally t = task->new_tally();
  task->count(logits, b, t);
  EXPECT_EQ(t.units, 3.0);  // the pad counts nothing
  EXPECT_EQ(t.correct, 2.0);
  // The loss is the mean over the 3 real targets of -log softmax.
  const double right = -std::log(std::exp(2.0) / (std::exp(2.0) + 5.0));
  const double wrong = -std::log(1.0 / (std::exp(2.0) + 5.0));
  EXPECT_NEAR(task->loss(logits, b, ops::Device::cpu()).item(), (2 * right + wrong) / 3, 1e-5);
  t.samples = 2;
  t.loss_sum = 2 * std::log(8.0);
  const Evaluation ev = task->evaluate(t);
  EXPECT_NEAR(ev.figures.at("perplexity"), 8.0, 1e-9);
  EXPECT_NEAR(ev.figures.at("bits_per_char"), 3.0, 1e-9);
  EXPECT_NE(task->describe(1, ev).find("perplexity 8.000"), std::string::npos);
  // Logits of another shape are refused, naming what is expected.
  EXPECT_THROW(task->loss(ops::Tensor::from_vector(z, {4, 6}), b, ops::Device::cpu()), ops::Error);
}

// Two images, one true box each (classes 1 and 2 of background + 3): the
// box of class 1 found exactly, the one of class 2 missed (its detection is
// elsewhere). Class 3 has no true box: it has no AP and no figure.
TEST(Task, DetectionReportsMapAndAnApFigurePerClassWithTrueBoxes) {
  const auto task = make_task(TaskKind::kDetection, 4);
  models::Batch b;
  b.images = ops::Tensor::zeros({2, 1, 32, 32});
  b.boxes = ops::Tensor::from_vector({2, 2, 12, 12, /**/ 4, 4, 20, 20}, {2, 1, 4});
  b.box_classes = labels({1, 2}, {2, 1});
  const ops::Tensor found = ops::Tensor::from_vector(
      {2,  2,  12, 12, 0.9f, 1, /**/ 0, 0, 0, 0, 0, -1,  // image 0: the box itself, then none
       22, 22, 30, 30, 0.8f, 2, /**/ 0, 0, 0, 0, 0, -1},
      {2, 2, 6});
  Tally t = task->new_tally();
  task->count(found, b, t);
  t.samples = 2;
  const Evaluation ev = task->evaluate(t);
  EXPECT_NEAR(ev.figures.at("map50"), 0.5, 1e-9);
  EXPECT_NEAR(ev.figures.at("ap50_class_1"), 1.0, 1e-9);
  EXPECT_NEAR(ev.figures.at("ap50_class_2"), 0.0, 1e-9);
  EXPECT_EQ(ev.figures.count("ap50_class_3"), 0u);
  EXPECT_NE(task->describe(1, ev).find("test mAP@0.5 0.5000"), std::string::npos)
      << task->describe(1, ev);
}

}  // namespace
}  // namespace ringmaster::training
