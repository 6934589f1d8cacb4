// encode_boxes / decode_boxes: deltas worked out by hand, decode inverting
// encode on random boxes (weights as Faster R-CNN's box head uses), the
// clamp of large log-scales, clipping to the image, and refusals.
#include "ops/box_coder.h"

#include "op_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ops/check.h"

namespace ringmaster::ops {
namespace {

Tensor boxes_of(const std::vector<float>& v) { return testing::box_tensor(v); }

TEST(BoxCoder, DeltasWorkedOutByHand) {
  // Reference centre (5, 5), 10 x 10; box centre (7, 4), 20 x 5.
  const Tensor d = encode_boxes(boxes_of({-3, 1.5f, 17, 6.5f}), boxes_of({0, 0, 10, 10}),
                                {.wx = 10, .wy = 10, .ww = 5, .wh = 5});
  const std::vector<float> v = d.to_vector();
  EXPECT_FLOAT_EQ(v[0], 10 * 2.0f / 10);
  EXPECT_FLOAT_EQ(v[1], 10 * -1.0f / 10);
  EXPECT_FLOAT_EQ(v[2], static_cast<float>(5 * std::log(2.0)));
  EXPECT_FLOAT_EQ(v[3], static_cast<float>(5 * std::log(0.5)));
}

TEST(BoxCoder, DecodeInvertsEncode) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<float> pos(-20.0f, 100.0f), len(0.5f, 60.0f);
  std::vector<float> b, r;
  for (int i = 0; i < 50; ++i) {
    for (std::vector<float>* v : {&b, &r}) {
      const float x = pos(rng), y = pos(rng);
      v->insert(v->end(), {x, y, x + len(rng), y + len(rng)});
    }
  }
  const BoxCoding c{.wx = 10, .wy = 10, .ww = 5, .wh = 5};
  const Tensor back = decode_boxes(encode_boxes(boxes_of(b), boxes_of(r), c), boxes_of(r), c);
  const std::vector<float> got = back.to_vector();
  for (size_t i = 0; i < b.size(); ++i) EXPECT_NEAR(got[i], b[i], 1e-3) << i;
}

TEST(BoxCoder, DecodeClampsTheScaleAndClipsToTheImage) {
  const Tensor ref = boxes_of({10, 10, 20, 20});
  const Tensor huge = decode_boxes(boxes_of({0, 0, 100, 100}), ref, {});
  const double side = 10 * (1000.0 / 16.0);  // exp(log(1000 / 16)) times the reference's 10
  EXPECT_NEAR(huge.to_vector()[2] - huge.to_vector()[0], side, side * 1e-6);
  // e^1 * 10 = 27.18 wide around 15: 1.41 .. 28.59; y clipped at 25.
  const std::vector<float> one =
      decode_boxes(boxes_of({0, 0, 1, 1}), ref, {}, 30.0, 25.0).to_vector();
  const double half = 5 * std::exp(1.0);
  EXPECT_NEAR(one[0], 15 - half, 1e-4);
  EXPECT_NEAR(one[1], 15 - half, 1e-4);
  EXPECT_NEAR(one[2], 15 + half, 1e-4);
  EXPECT_EQ(one[3], 25.0f);
  // e^2 * 10 = 73.9 wide: clipped on every side.
  EXPECT_EQ(decode_boxes(boxes_of({0, 0, 2, 2}), ref, {}, 30.0, 25.0).to_vector(),
            (std::vector<float>{0, 0, 30, 25}));
}

TEST(BoxCoder, RefusesWhatHasNoDeltas) {
  EXPECT_THROW(encode_boxes(boxes_of({0, 0, 1, 1}), boxes_of({5, 5, 5, 9}), {}), Error);
  EXPECT_THROW(encode_boxes(boxes_of({0, 0, 0, 1}), boxes_of({5, 5, 6, 9}), {}), Error);
  EXPECT_THROW(encode_boxes(boxes_of({0, 0, 1, 1}), boxes_of({0, 0, 1, 1, 2, 2, 3, 3}), {}), Error);
  EXPECT_THROW(decode_boxes(boxes_of({0, 0, 1, 1}), boxes_of({0, 0, 1, 1}), {.wx = 0}), Error);
}

}  // namespace
}  // namespace ringmaster::ops
