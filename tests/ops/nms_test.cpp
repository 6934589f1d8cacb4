// box_iou and nms: IoU worked out by hand and against the double-precision
// reference; suppression on hand-made cases (threshold, ties, score
// threshold, top-k, classes apart) and against the reference on random
// boxes, by both paths (the greedy one and the overlap matrix that boxes on
// a GPU take); bad inputs refused.
#include "ops/reference/nms.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "op_test_util.h"
#include "ops/box_iou.h"
#include "ops/check.h"
#include "ops/nms.h"

namespace ringmaster::ops {
namespace {

Tensor boxes_of(const std::vector<float>& v) { return testing::box_tensor(v); }

Tensor scores_of(const std::vector<float>& v) {
  Tensor t = Tensor::empty({static_cast<int64_t>(v.size())});
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

TEST(BoxIou, PairsWorkedOutByHand) {
  const Tensor a = boxes_of({0, 0, 2, 2, 5, 5, 5, 9, 3, 3, 1, 1});  // a line, an inverted box
  const Tensor b = boxes_of({1, 1, 3, 3, 0, 0, 2, 2, 10, 10, 12, 12});
  const Tensor m = box_iou(a, b);
  ASSERT_EQ(m.shape(), (Shape{3, 3}));
  const std::vector<float> v = m.to_vector();
  EXPECT_FLOAT_EQ(v[0], 1.0f / 7.0f);  // overlap 1, union 4 + 4 - 1
  EXPECT_FLOAT_EQ(v[1], 1.0f);
  EXPECT_EQ(v[2], 0.0f);
  for (int i = 3; i < 9; ++i) EXPECT_EQ(v[static_cast<size_t>(i)], 0.0f) << i;  // no area
}

std::vector<float> random_boxes(std::mt19937_64& rng, int64_t k, float size) {
  std::uniform_real_distribution<float> pos(0.0f, size), len(1.0f, size / 3);
  std::vector<float> v;
  for (int64_t i = 0; i < k; ++i) {
    const float x = pos(rng), y = pos(rng);
    v.insert(v.end(), {x, y, x + len(rng), y + len(rng)});
  }
  return v;
}

TEST(BoxIou, MatchesTheReference) {
  std::mt19937_64 rng(11);
  const std::vector<float> a = random_boxes(rng, 13, 20.0f), b = random_boxes(rng, 7, 20.0f);
  const std::vector<float> m = box_iou(boxes_of(a), boxes_of(b)).to_vector();
  const std::vector<double> da(a.begin(), a.end()), db(b.begin(), b.end());
  int overlapping = 0;
  for (size_t i = 0; i < 13; ++i)
    for (size_t j = 0; j < 7; ++j) {
      const double want = reference::box_iou(&da[4 * i], &db[4 * j]);
      overlapping += want > 0.0;
      EXPECT_NEAR(m[i * 7 + j], want, 1e-6) << i << ", " << j;
    }
  EXPECT_GT(overlapping, 5);  // the case tests overlaps, not only zeros
}

TEST(Nms, KeepsTheBestAndDropsWhatOverlapsItByMoreThanTheThreshold) {
  // B overlaps A by 81 / 119 = 0.68; C overlaps nothing.
  const Tensor b = boxes_of({0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30});
  const Tensor s = scores_of({0.9f, 0.8f, 0.7f});
  EXPECT_EQ(nms(b, s, {.iou_threshold = 0.5}), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(nms(b, s, {.iou_threshold = 0.7}), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(nms(b, scores_of({0.5f, 0.8f, 0.9f}), {.iou_threshold = 0.5}),
            (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(nms(b, s, {.iou_threshold = 0.7, .score_threshold = 0.75}),
            (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(nms(b, s, {.iou_threshold = 0.7, .max_output = 2}), (std::vector<int64_t>{0, 1}));
  // Identical boxes of equal score: the lower index stays.
  EXPECT_EQ(nms(boxes_of({0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1}), scores_of({0.5f, 0.5f, 0.5f}),
                {.iou_threshold = 0.5}),
            (std::vector<int64_t>{0}));
  // A NaN score never enters.
  EXPECT_EQ(nms(b, scores_of({std::nanf(""), 0.8f, 0.7f}), {.iou_threshold = 0.5}),
            (std::vector<int64_t>{1, 2}));
}

TEST(Nms, ClassesDoNotSuppressEachOther) {
  const Tensor b = boxes_of({0, 0, 10, 10, 1, 1, 11, 11, 0, 0, 10, 10, 20, 20, 30, 30});
  const Tensor s = scores_of({0.9f, 0.8f, 0.95f, 0.7f});
  const Tensor cls = testing::int_tensor({1, 1, 2, 1}, DType::i32);
  EXPECT_EQ(batched_nms(b, s, cls, {.iou_threshold = 0.5}), (std::vector<int64_t>{2, 0, 3}));
  EXPECT_EQ(batched_nms(b, s, cls, {.iou_threshold = 0.5, .max_output = 2}),
            (std::vector<int64_t>{2, 0}));
}

TEST(Nms, MatchesTheReferenceOnRandomBoxes) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> score(0.0f, 1.0f);
  std::uniform_int_distribution<int64_t> cls(0, 3);
  for (int trial = 0; trial < 20; ++trial) {
    const std::vector<float> b = random_boxes(rng, 60, 40.0f);
    std::vector<float> s;
    std::vector<int64_t> c;
    for (int i = 0; i < 60; ++i) {
      s.push_back(std::round(score(rng) * 20.0f) / 20.0f);  // many ties
      c.push_back(cls(rng));
    }
    const std::vector<double> db(b.begin(), b.end()), ds(s.begin(), s.end());
    for (const NmsOptions& o : {NmsOptions{.iou_threshold = 0.3},
                                NmsOptions{.iou_threshold = 0.5, .score_threshold = 0.4},
                                NmsOptions{.iou_threshold = 0.7, .max_output = 9}}) {
      EXPECT_EQ(nms(boxes_of(b), scores_of(s), o), reference::nms(db, ds, {}, o))
          << "trial " << trial;
      EXPECT_EQ(batched_nms(boxes_of(b), scores_of(s), testing::int_tensor(c, DType::i64), o),
                reference::nms(db, ds, c, o))
          << "trial " << trial;
    }
  }
}

// The overlap-matrix path on the CPU: the hand-made cases, then random
// boxes past one 64-bit word (ties, classes, NaN scores and boxes) against
// the reference.
TEST(Nms, TheOverlapMatrixPathKeepsWhatTheReferenceKeeps) {
  const Tensor b = boxes_of({0, 0, 10, 10, 1, 1, 11, 11, 20, 20, 30, 30});
  const Tensor s = scores_of({0.9f, 0.8f, 0.7f});
  EXPECT_EQ(nms_by_overlap_mask(b, s, {}, {.iou_threshold = 0.5}), (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(nms_by_overlap_mask(b, s, {}, {.iou_threshold = 0.7, .max_output = 2}),
            (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(
      nms_by_overlap_mask(b, s, testing::int_tensor({1, 2, 1}, DType::i32), {.iou_threshold = 0.5}),
      (std::vector<int64_t>{0, 1, 2}));
  EXPECT_TRUE(nms_by_overlap_mask(Tensor::empty({0, 4}), Tensor::empty({0}), {}, {}).empty());
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<float> score(0.0f, 1.0f);
  std::uniform_int_distribution<int64_t> cls(0, 2);
  for (int trial = 0; trial < 10; ++trial) {
    const int64_t k = 150 + trial * 7;
    std::vector<float> b = random_boxes(rng, k, 60.0f);
    std::vector<float> s;
    std::vector<int64_t> c;
    for (int64_t i = 0; i < k; ++i) {
      s.push_back(std::round(score(rng) * 20.0f) / 20.0f);  // many ties
      c.push_back(cls(rng));
    }
    s[3] = std::nanf("");
    b[4 * 5 + 2] = std::nanf("");
    const std::vector<double> db(b.begin(), b.end()), ds(s.begin(), s.end());
    for (const NmsOptions& o : {NmsOptions{.iou_threshold = 0.3},
                                NmsOptions{.iou_threshold = 0.5, .score_threshold = 0.4},
                                NmsOptions{.iou_threshold = 0.7, .max_output = 9}}) {
      const std::vector<int64_t> want = reference::nms(db, ds, {}, o);
      EXPECT_EQ(nms_by_overlap_mask(boxes_of(b), scores_of(s), {}, o), want) << "trial " << trial;
      EXPECT_EQ(nms(boxes_of(b), scores_of(s), o), want) << "trial " << trial;
      EXPECT_EQ(
          nms_by_overlap_mask(boxes_of(b), scores_of(s), testing::int_tensor(c, DType::i64), o),
          reference::nms(db, ds, c, o))
          << "trial " << trial;
    }
  }
}

TEST(Nms, BadInputsAreRefused) {
  const Tensor b = boxes_of({0, 0, 1, 1, 2, 2, 3, 3});
  EXPECT_THROW(nms(b, scores_of({0.5f}), {}), Error);                            // one score short
  EXPECT_THROW(nms(Tensor::empty({2, 5}), scores_of({0.5f, 0.4f}), {}), Error);  // not (K, 4)
  EXPECT_THROW(nms(b, scores_of({0.5f, 0.4f}), {.iou_threshold = 1.5}), Error);
  EXPECT_THROW(nms(b, scores_of({0.5f, 0.4f}), {.iou_threshold = std::nan("")}), Error);
  EXPECT_THROW(batched_nms(b, scores_of({0.5f, 0.4f}), testing::int_tensor({1}, DType::i64), {}),
               Error);
  EXPECT_TRUE(nms(Tensor::empty({0, 4}), Tensor::empty({0}), {}).empty());
  EXPECT_THROW(nms_by_overlap_mask(b, scores_of({0.5f}), {}, {}), Error);
  EXPECT_THROW(
      nms_by_overlap_mask(b, scores_of({0.5f, 0.4f}), testing::int_tensor({1}, DType::i64), {}),
      Error);
}

}  // namespace
}  // namespace ringmaster::ops
