// Detection metrics: IoU, matching and AP on cases worked by hand (each
// expected figure derived beside it); the binned, summable tally against the
// exact computation on a random set, and summed over two "ranks".
#include "training/detection_metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <numeric>
#include <random>

namespace ringmaster::training {
namespace {

using Images = std::vector<std::vector<Detection>>;
using Truths = std::vector<std::vector<GroundTruth>>;

// Unit boxes of side 10, far enough apart that none overlaps another.
const Box kA{0, 0, 10, 10}, kB{20, 20, 30, 30}, kC{40, 40, 50, 50}, kFar{60, 60, 70, 70};

void expect_all(const std::array<double, kIouThresholds>& v, double want) {
  for (int t = 0; t < kIouThresholds; ++t) EXPECT_NEAR(v[t], want, 1e-12) << "threshold " << t;
}

void expect_same(const DetectionScores& a, const DetectionScores& b, double tol) {
  EXPECT_NEAR(a.map50, b.map50, tol);
  EXPECT_NEAR(a.map, b.map, tol);
  for (int t = 0; t < kIouThresholds; ++t) EXPECT_NEAR(a.map_at[t], b.map_at[t], tol) << t;
  ASSERT_EQ(a.class_ap.size(), b.class_ap.size());
  for (size_t c = 0; c < a.class_ap.size(); ++c) {
    EXPECT_NEAR(a.class_ap50[c], b.class_ap50[c], tol) << "class " << c;
    EXPECT_NEAR(a.class_ap[c], b.class_ap[c], tol) << "class " << c;
  }
}

// The exact scores, with the tally's (one image at a time) checked equal:
// every hand-worked case below has scores more than a bin apart.
DetectionScores evaluate(const Images& d, const Truths& g, int classes) {
  const DetectionScores exact = evaluate_detections(d, g, classes);
  DetectionTally tally(classes);
  for (size_t i = 0; i < d.size(); ++i) tally.add_image(d[i], g[i]);
  expect_same(tally.scores(), exact, 1e-12);
  return exact;
}

TEST(DetectionMetrics, BoxIouIsContinuousAndDegenerateBoxesScoreZero) {
  EXPECT_DOUBLE_EQ(box_iou(kA, kA), 1.0);
  // Half overlap: intersection 5 x 10 = 50, union 100 + 100 - 50 = 150.
  EXPECT_DOUBLE_EQ(box_iou(kA, {5, 0, 15, 10}), 1.0 / 3.0);
  // Contained: 2 x 2 = 4 of 100 (with VOC's +1 it would be 9 / 121).
  EXPECT_DOUBLE_EQ(box_iou(kA, {2, 2, 4, 4}), 0.04);
  EXPECT_EQ(box_iou(kA, {10, 0, 20, 10}), 0.0);  // touching edges
  EXPECT_EQ(box_iou(kA, kB), 0.0);
  const Box line{1, 1, 1, 5}, inverted{10, 10, 0, 0};
  EXPECT_EQ(box_iou(line, line), 0.0);
  EXPECT_EQ(box_iou(kA, line), 0.0);
  EXPECT_EQ(box_iou(inverted, inverted), 0.0);
  EXPECT_EQ(box_iou(kA, inverted), 0.0);
}

TEST(DetectionMetrics, PerfectDetectionScoresOneAtEveryThreshold) {
  const DetectionScores s = evaluate({{{kA, 1, 0.9f}}}, {{{kA, 1}}}, 2);
  expect_all(s.map_at, 1.0);
  EXPECT_DOUBLE_EQ(s.map50, 1.0);
  EXPECT_DOUBLE_EQ(s.map, 1.0);
  EXPECT_EQ(s.class_ap50, (std::vector<double>{-1.0, 1.0}));  // class 0 has no truth
  EXPECT_EQ(s.class_ap, (std::vector<double>{-1.0, 1.0}));
}

TEST(DetectionMetrics, IouCountsAtTheThresholdsItReaches) {
  // (0, 0, 10, 5.8) in kA: IoU 58 / 100 = 0.58, a hit at 0.50 and 0.55 only:
  // AP 1 at 2 thresholds of 10, 0 at the rest, so COCO's mAP is 0.2.
  const DetectionScores s = evaluate({{{{0, 0, 10, 5.8f}, 1, 0.9f}}}, {{{kA, 1}}}, 2);
  EXPECT_DOUBLE_EQ(s.map50, 1.0);
  EXPECT_DOUBLE_EQ(s.map_at[1], 1.0);
  for (int t = 2; t < kIouThresholds; ++t) EXPECT_EQ(s.map_at[t], 0.0) << t;
  EXPECT_NEAR(s.map, 0.2, 1e-15);
  EXPECT_NEAR(s.class_ap[1], 0.2, 1e-15);
  // IoU exactly 60 / 100 (0.6 in double, as the literal threshold): a match
  // needs IoU >= threshold, so 0.60 counts too: 3 of 10.
  EXPECT_NEAR(evaluate({{{{0, 0, 10, 6}, 1, 0.9f}}}, {{{kA, 1}}}, 2).map, 0.3, 1e-15);
}

TEST(DetectionMetrics, DuplicateDetectionIsAFalsePositive) {
  // Boxes kA and kB; detections .9 and .8 on kA, .7 on kB. The .8 one finds
  // kA taken (and kB out of reach): a false positive. Ranked TP, FP, TP of 2
  // boxes: (recall, precision) (1/2, 1), (1/2, 1/2), (1, 2/3); envelope 1,
  // 2/3, 2/3; AP = 1/2 * 1 + 1/2 * 2/3 = 5/6, at every threshold.
  const std::vector<Detection> d = {{kA, 1, 0.9f}, {kA, 1, 0.8f}, {kB, 1, 0.7f}};
  const std::vector<GroundTruth> g = {{kA, 1}, {kB, 1}};
  const std::vector<ThresholdHits> hits = match_image(d, g, 2);
  for (int t = 0; t < kIouThresholds; ++t) {
    EXPECT_TRUE(hits[0][t] && !hits[1][t] && hits[2][t]) << t;
  }
  const DetectionScores s = evaluate({d}, {g}, 2);
  EXPECT_NEAR(s.map50, 5.0 / 6.0, 1e-15);
  EXPECT_NEAR(s.map, 5.0 / 6.0, 1e-15);
}

TEST(DetectionMetrics, HigherScoreTakesTheBoxAtEachThreshold) {
  // On kA: .9 with IoU 0.6 ((0, 0, 10, 6)) and .8 with IoU 1. At 0.50..0.60
  // the .9 one takes kA and the .8 one is a duplicate: ranked TP, FP, AP 1.
  // At 0.65..0.95 the .9 one misses and the .8 one takes kA: FP, TP, steps
  // (0, 0), (1, 1/2), AP 1/2. COCO's mAP = (3 * 1 + 7 * 1/2) / 10 = 0.65.
  const std::vector<Detection> d = {{{0, 0, 10, 6}, 1, 0.9f}, {kA, 1, 0.8f}};
  const std::vector<ThresholdHits> hits = match_image(d, {{kA, 1}}, 2);
  EXPECT_TRUE(hits[0][2] && !hits[1][2]);
  EXPECT_TRUE(!hits[0][3] && hits[1][3]);
  const DetectionScores s = evaluate({d}, {{{kA, 1}}}, 2);
  EXPECT_EQ(s.map_at[2], 1.0);
  EXPECT_EQ(s.map_at[3], 0.5);
  EXPECT_NEAR(s.map, 0.65, 1e-15);
}

TEST(DetectionMetrics, TiedScoresRankInInputOrderAndShareABin) {
  // One box; a miss (kFar) and a hit, both scored 0.5. Exact, input order
  // decides: miss first gives steps (0, 0), (1, 1/2): AP 1/2; hit first
  // gives (1, 1): AP 1. Over images the order is image order.
  const std::vector<GroundTruth> g = {{kA, 1}};
  const Detection miss{kFar, 1, 0.5f}, hit{kA, 1, 0.5f};
  EXPECT_EQ(evaluate_detections({{miss, hit}}, {g}, 2).map50, 0.5);
  EXPECT_EQ(evaluate_detections({{hit, miss}}, {g}, 2).map50, 1.0);
  EXPECT_EQ(evaluate_detections({{miss}, {hit}}, {{}, g}, 2).map50, 0.5);
  EXPECT_EQ(evaluate_detections({{hit}, {miss}}, {g, {}}, 2).map50, 1.0);
  // Binned, both land in bin 256 of 512: one step (1, 1/2), AP 1/2 either way.
  for (const auto& d : {std::vector<Detection>{miss, hit}, std::vector<Detection>{hit, miss}}) {
    DetectionTally tally(2);
    tally.add_image(d, g);
    EXPECT_EQ(tally.scores().map50, 0.5);
  }
  // Within an image, of two tied detections on one box the first takes it.
  const std::vector<ThresholdHits> hits = match_image({{kA, 1, 0.5f}, {kA, 1, 0.5f}}, g, 2);
  EXPECT_TRUE(hits[0][0] && !hits[1][0]);
}

TEST(DetectionMetrics, ClassWithoutTruthIsAbsentFromTheMean) {
  // Class 1: a perfect hit. Class 2: no truth, with or without detections;
  // class 0: none of either. The mean is class 1's alone.
  const Truths g = {{{kA, 1}}};
  for (const Images& d : {Images{{{kA, 1, 0.9f}}}, Images{{{kA, 1, 0.9f}, {kB, 2, 0.95f}}}}) {
    const DetectionScores s = evaluate(d, g, 3);
    EXPECT_EQ(s.class_ap50, (std::vector<double>{-1.0, 1.0, -1.0}));
    EXPECT_EQ(s.map50, 1.0);
    EXPECT_EQ(s.map, 1.0);
  }
  // No truth at all: every class absent, every mean -1.
  const DetectionScores none = evaluate({{{kA, 1, 0.9f}}, {}}, {{}, {}}, 3);
  EXPECT_EQ(none.map50, -1.0);
  EXPECT_EQ(none.map, -1.0);
  expect_all(none.map_at, -1.0);
  EXPECT_EQ(none.class_ap, (std::vector<double>{-1.0, -1.0, -1.0}));
  EXPECT_EQ(evaluate({}, {}, 3).map, -1.0);
}

TEST(DetectionMetrics, ClassWithTruthButNoDetectionsScoresZero) {
  // Class 1 perfect (AP 1), class 2 a box and no detection (AP 0): mean 1/2.
  const DetectionScores s = evaluate({{{kA, 1, 0.9f}}}, {{{kA, 1}, {kB, 2}}}, 3);
  EXPECT_EQ(s.class_ap50, (std::vector<double>{-1.0, 1.0, 0.0}));
  EXPECT_EQ(s.class_ap, (std::vector<double>{-1.0, 1.0, 0.0}));
  EXPECT_EQ(s.map50, 0.5);
  EXPECT_EQ(s.map, 0.5);
}

TEST(DetectionMetrics, WrongClassNeverMatches) {
  // A class-2 detection exactly on a class-1 box: class 1 has AP 0, and
  // class 2 (no truth) is absent; the mean is class 1's 0.
  const std::vector<ThresholdHits> hits = match_image({{kA, 2, 0.9f}}, {{kA, 1}}, 3);
  EXPECT_EQ(std::count(hits[0].begin(), hits[0].end(), true), 0);
  const DetectionScores s = evaluate({{{kA, 2, 0.9f}}}, {{{kA, 1}}}, 3);
  EXPECT_EQ(s.class_ap50, (std::vector<double>{-1.0, 0.0, -1.0}));
  EXPECT_EQ(s.map50, 0.0);
}

TEST(DetectionMetrics, PrecisionEnvelopeOverImages) {
  // Three boxes over two images, one never found. Ranked .9 TP (image 0),
  // .8 FP, .7 TP (image 1): (recall, precision) (1/3, 1), (1/3, 1/2),
  // (2/3, 2/3); AP = 1/3 * 1 + 1/3 * 2/3 = 5/9 at every threshold.
  const Truths g = {{{kA, 1}}, {{kB, 1}, {kC, 1}}};
  const DetectionScores s = evaluate({{{kA, 1, 0.9f}}, {{kFar, 1, 0.8f}, {kB, 1, 0.7f}}}, g, 2);
  EXPECT_NEAR(s.map50, 5.0 / 9.0, 1e-15);
  EXPECT_NEAR(s.map, 5.0 / 9.0, 1e-15);
  // The envelope raising a precision: .9 TP, .8 FP, .7 FP, .6 TP, .5 TP.
  // Points (1/3, 1), (1/3, 1/2), (1/3, 1/3), (2/3, 2/4), (1, 3/5); the
  // envelope at recall 2/3 is max(1/2, 3/5) = 3/5, so AP = 1/3 * 1 + 1/3 *
  // 3/5 + 1/3 * 3/5 = 11/15 (0.7 with raw precisions).
  const Images d = {
      {{kA, 1, 0.9f}, {kFar, 1, 0.8f}}, {{kFar, 1, 0.7f}, {kB, 1, 0.6f}}, {{kC, 1, 0.5f}}};
  const Truths g3 = {{{kA, 1}}, {{kB, 1}}, {{kC, 1}}};
  EXPECT_NEAR(evaluate(d, g3, 2).map50, 11.0 / 15.0, 1e-15);
}

// A random set: up to 3 boxes of classes 1..3 per image, each found (with a
// jitter that spreads IoUs over the thresholds, sometimes twice, sometimes
// as the wrong class) or missed, plus stray detections of any class (0
// included). Scores are distinct bin centres, so no bin holds two.
struct RandomSet {
  Images detections;
  Truths truth;
};

RandomSet random_set(uint32_t seed, int images, int bins) {
  std::mt19937 rng(seed);
  const auto uniform = [&] { return static_cast<float>(rng() / 4294967296.0); };
  std::vector<int> free_bins(static_cast<size_t>(bins));
  std::iota(free_bins.begin(), free_bins.end(), 0);
  std::shuffle(free_bins.begin(), free_bins.end(), rng);
  size_t next = 0;
  const auto score = [&] { return (static_cast<float>(free_bins.at(next++)) + 0.5f) / bins; };
  const auto detect = [&](const GroundTruth& g, int label) {
    const float w = g.box.x2 - g.box.x1, dx = (uniform() - 0.5f) * 0.3f * w;
    const float dy = (uniform() - 0.5f) * 0.3f * w;
    return Detection{{g.box.x1 + dx, g.box.y1 + dy, g.box.x2 + dx, g.box.y2 + dy}, label, score()};
  };
  RandomSet set;
  for (int i = 0; i < images; ++i) {
    set.truth.emplace_back();
    set.detections.emplace_back();
    for (uint32_t k = rng() % 4; k > 0; --k) {
      const float x = uniform() * 80, y = uniform() * 80, w = 8 + uniform() * 20;
      const GroundTruth g{{x, y, x + w, y + w}, 1 + static_cast<int>(rng() % 3)};
      set.truth.back().push_back(g);
      if (uniform() < 0.8f) set.detections.back().push_back(detect(g, g.label));
      if (uniform() < 0.2f) set.detections.back().push_back(detect(g, g.label));
      if (uniform() < 0.1f) set.detections.back().push_back(detect(g, 1 + g.label % 3));
    }
    if (uniform() < 0.5f)
      set.detections.back().push_back(detect({{0, 0, 30, 30}, 0}, static_cast<int>(rng() % 4)));
  }
  return set;
}

TEST(DetectionMetrics, BinnedTallyEqualsExactWhenScoresAreBinsApart) {
  const int bins = DetectionTally::kDefaultScoreBins;
  const RandomSet set = random_set(7, 60, bins);
  DetectionTally tally(4, bins);
  for (size_t i = 0; i < set.truth.size(); ++i) tally.add_image(set.detections[i], set.truth[i]);
  const DetectionScores exact = evaluate_detections(set.detections, set.truth, 4);
  expect_same(tally.scores(), exact, 1e-12);
  std::printf("random set: mAP@0.5 %.4f, mAP %.4f\n", exact.map50, exact.map);
  // Not a degenerate case: partial scores, lower at stricter thresholds.
  EXPECT_GT(exact.map, 0.2);
  EXPECT_LT(exact.map, exact.map50);
  EXPECT_LT(exact.map50, 1.0);
  EXPECT_EQ(exact.class_ap[0], -1.0);
}

TEST(DetectionMetrics, TalliesSummedElementwiseEqualOneTally) {
  // Two "ranks" take alternate images; their sums added element by element
  // (into a vector with other sums before them, as Tally::task sits after
  // Tally's own) score exactly as one tally of every image.
  const int bins = 64;  // coarser than the scores: ties within bins too
  const RandomSet set = random_set(11, 40, 512);
  DetectionTally whole(4, bins), even(4, bins), odd(4, bins);
  for (size_t i = 0; i < set.truth.size(); ++i) {
    whole.add_image(set.detections[i], set.truth[i]);
    (i % 2 == 0 ? even : odd).add_image(set.detections[i], set.truth[i]);
  }
  std::vector<double> flat = {1, 2, 3};
  even.append_to(flat);
  odd.add_into(flat, 3);
  ASSERT_EQ(flat.size(), 3 + DetectionTally::flat_size(4, bins));
  EXPECT_EQ(DetectionTally::flat_size(4, bins), 4u * (1 + 64 * 11));
  const DetectionTally summed(4, bins, std::vector<double>(flat.begin() + 3, flat.end()));
  EXPECT_EQ(summed.flat(), whole.flat());
  expect_same(summed.scores(), whole.scores(), 0.0);
  // Merged bins never score above the exact figure.
  const DetectionScores exact = evaluate_detections(set.detections, set.truth, 4);
  for (size_t c = 1; c < 4; ++c) EXPECT_LE(whole.scores().class_ap[c], exact.class_ap[c] + 1e-12);
}

TEST(DetectionMetricsDeathTest, CallerBugsAbortWithTheValues) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_DEATH(match_image({{kA, 3, 0.5f}}, {}, 3), "detection label 3 outside");
  EXPECT_DEATH(match_image({}, {{kA, -1}}, 3), "ground-truth label -1 outside");
  EXPECT_DEATH(match_image({{kA, 1, nan}}, {}, 3), "detection score nan");
  EXPECT_DEATH(match_image({{{0, 0, nan, 1}, 1, 0.5f}}, {}, 3), "detection box");
  EXPECT_DEATH(evaluate_detections({{}}, {}, 3), "1 images of detections for 0");
  DetectionTally tally(3);
  EXPECT_DEATH(tally.add_image({{kA, 1, 1.5f}}, {}), "scores in \\[0, 1\\], got 1.5");
  EXPECT_DEATH(DetectionTally(3, 8, std::vector<double>(5)), "needs 267 sums, got 5");
}

}  // namespace
}  // namespace ringmaster::training
