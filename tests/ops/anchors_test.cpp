// make_anchors: torchvision's base anchors worked out by hand (ratio major,
// rounded corners), their placement over the grid, and refusals.
#include "ops/anchors.h"

#include <gtest/gtest.h>

#include "ops/check.h"

namespace ringmaster::ops {
namespace {

TEST(Anchors, BaseAnchorsAndTheirShifts) {
  const Tensor a = make_anchors({.sizes = {32, 64},
                                 .ratios = {0.5, 1, 2},
                                 .grid_h = 2,
                                 .grid_w = 3,
                                 .stride_h = 8,
                                 .stride_w = 16});
  ASSERT_EQ(a.shape(), (Shape{2 * 3 * 6, 4}));
  const std::vector<float> v = a.to_vector();
  // Cell (0, 0): ratio 0.5 (wide) sizes 32, 64; ratio 1; ratio 2 (tall).
  // 32 / sqrt(0.5) = 45.25 wide, 32 * sqrt(0.5) = 22.63 high: corners +-22.63
  // and +-11.31 round to 23 and 11.
  const std::vector<float> cell0 = {-23, -11, 23, 11, -45, -23, 45, 23, -16, -16, 16, 16,
                                    -32, -32, 32, 32, -11, -23, 11, 23, -23, -45, 23, 45};
  EXPECT_EQ(std::vector<float>(v.begin(), v.begin() + 24), cell0);
  // Cell (1, 2) is the last: shifted by x 2 * 16, y 1 * 8.
  for (int k = 0; k < 6; ++k)
    for (int j = 0; j < 4; ++j)
      EXPECT_EQ(v[static_cast<size_t>((5 * 6 + k) * 4 + j)],
                cell0[static_cast<size_t>(k * 4 + j)] + (j % 2 == 0 ? 32.0f : 8.0f));
}

TEST(Anchors, BadGridsAreRefused) {
  EXPECT_THROW(make_anchors({.sizes = {}}), Error);
  EXPECT_THROW(make_anchors({.sizes = {-4}}), Error);
  EXPECT_THROW(make_anchors({.ratios = {0}}), Error);
  EXPECT_THROW(make_anchors({.grid_h = 0}), Error);
  EXPECT_THROW(make_anchors({.stride_w = 0}), Error);
}

}  // namespace
}  // namespace ringmaster::ops
