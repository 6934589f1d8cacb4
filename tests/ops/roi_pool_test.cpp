// roi_pool: forward against the double-precision reference on odd shapes
// (boxes inside, across and beyond the map's edges, inverted and tiny ones;
// several scales and output sizes), a case worked out by hand, backward
// against finite differences, empty box lists, and the refusals (an image
// index outside the batch, a coordinate that is not finite or too far).
#include "ops/reference/roi_pool.h"

#include <cmath>
#include <limits>

#include "op_test_util.h"
#include "ops/check.h"
#include "ops/roi_pool.h"
#include "tests/error_of.h"

namespace ringmaster::ops {
namespace {

using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

using testing::image_of_each;

TEST(RoiPool, ForwardMatchesReference) {
  for (double scale : {1.0, 0.5, 0.25, 1.0 / 16}) {
    const Tensor x = random_tensor({2, 3, 11, 7});
    const auto img_h = static_cast<float>(11 / scale), img_w = static_cast<float>(7 / scale);
    const Tensor boxes = testing::random_rois(10, img_h, img_w);
    const std::vector<int64_t> batch = image_of_each(10, 2);
    for (const auto& [oh, ow] : std::vector<std::pair<int64_t, int64_t>>{{3, 2}, {1, 1}, {7, 5}}) {
      const RoiPoolParams p{.output_h = oh, .output_w = ow, .spatial_scale = scale};
      const Tensor y = roi_pool(x, boxes, testing::int_tensor(batch, DType::i64), p);
      ASSERT_EQ(y.shape(), (Shape{10, 3, oh, ow}));
      expect_close(
          y,
          reference::roi_pool(reference::from_tensor(x), reference::from_tensor(boxes), batch, p),
          1e-6,
          "scale " + std::to_string(scale) + ", " + std::to_string(oh) + "x" + std::to_string(ow));
    }
  }
}

// x[.., i, j] = 10 i + j: a bin's maximum is its bottom-right cell.
TEST(RoiPool, ARampGivesEachBinsBottomRightCell) {
  Tensor x = Tensor::empty({1, 1, 6, 8});
  for (int64_t i = 0; i < 48; ++i) x.data<float>()[i] = static_cast<float>(10 * (i / 8) + i % 8);
  Tensor boxes = Tensor::empty({2, 4});
  // Box 0: x 1.4..4.6 -> cells 1..5 (5 wide), y 0.6..3.2 -> cells 1..3 (3
  // high); 2x2 bins of 2.5 x 1.5 cells: columns [1, 4) and [3, 6), rows [1,
  // 3) and [2, 4). Box 1 lies left of the map: every bin empty, 0.
  const float v[8] = {1.4f, 0.6f, 4.6f, 3.2f, -9.0f, 0.0f, -6.0f, 2.0f};
  std::copy(v, v + 8, boxes.data<float>());
  const Tensor y =
      roi_pool(x, boxes, testing::int_tensor({0, 0}, DType::i64), {.output_h = 2, .output_w = 2});
  EXPECT_EQ(y.to_vector(), (std::vector<float>{23, 25, 33, 35, 0, 0, 0, 0}));
}

TEST(RoiPool, BackwardMatchesFiniteDifferences) {
  for (double scale : {1.0, 0.5}) {
    const RoiPoolParams p{.output_h = 3, .output_w = 2, .spatial_scale = scale};
    const Tensor boxes =
        testing::random_rois(6, static_cast<float>(9 / scale), static_cast<float>(7 / scale));
    const std::vector<int64_t> batch = image_of_each(6, 2);
    const Tensor batch_t = testing::int_tensor(batch, DType::i32);
    check_gradients(
        [&](const std::vector<Tensor>& in) { return roi_pool(in[0], boxes, batch_t, p); },
        [&](const std::vector<reference::RefTensor>& in) {
          return reference::roi_pool(in[0], reference::from_tensor(boxes), batch, p);
        },
        {random_tensor({2, 3, 9, 7})}, {true}, 2e-3, 128);
  }
}

TEST(RoiPool, NoBoxesGiveAnEmptyOutputAndAZeroGradient) {
  Tensor x = random_tensor({2, 3, 5, 5});
  x.set_requires_grad(true);
  const Tensor y = roi_pool(x, Tensor::empty({0, 4}), testing::int_tensor({}, DType::i64, {0}),
                            {.output_h = 2, .output_w = 2});
  EXPECT_EQ(y.shape(), (Shape{0, 3, 2, 2}));
  y.backward(Tensor::empty({0, 3, 2, 2}));
  for (float g : x.grad().to_vector()) EXPECT_EQ(g, 0.0f);
}

using testing_support::error_of;

TEST(RoiPool, BadBoxesAndIndicesAreRefusedNamingTheBox) {
  const Tensor x = random_tensor({2, 1, 6, 6});
  Tensor boxes = testing::random_rois(3, 6.0f, 6.0f);
  const RoiPoolParams p{.output_h = 2, .output_w = 2};
  EXPECT_NE(error_of([&] {
              roi_pool(x, boxes, testing::int_tensor({0, 2, 1}, DType::i64), p);
            }).find("roi_pool: box 1 is on image 2, outside the batch's [0, 2)"),
            std::string::npos);
  const Tensor batch = testing::int_tensor({0, 1, 1}, DType::i64);
  boxes.data<float>()[6] = std::numeric_limits<float>::infinity();
  EXPECT_NE(error_of([&] { roi_pool(x, boxes, batch, p); }).find("box 1 ("), std::string::npos);
  boxes.data<float>()[6] = 1e30f;
  EXPECT_NE(error_of([&] { roi_pool(x, boxes, batch, p); }).find("within 2^24 cells"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              roi_pool(x, boxes, batch, {.output_h = 2, .output_w = 2, .spatial_scale = -1.0});
            }).find("spatial_scale -1"),
            std::string::npos);
}

}  // namespace
}  // namespace ringmaster::ops
