// roi_align: forward against the double-precision reference on odd shapes
// (boxes inside, across and beyond the map's edges, inverted and tiny ones;
// aligned and not; fixed and adaptive sampling; several scales), a case
// worked out by hand, backward against finite differences, empty box lists,
// and the refusals (an image index outside the batch, a coordinate that is
// not finite, a box too large to sample, malformed inputs).
#include "ops/reference/roi_align.h"

#include <cmath>
#include <limits>

#include "op_test_util.h"
#include "ops/check.h"
#include "ops/roi_align.h"
#include "tests/error_of.h"

namespace ringmaster::ops {
namespace {

using testing::check_gradients;
using testing::expect_close;
using testing::random_tensor;

using testing::image_of_each;

TEST(RoiAlign, ForwardMatchesReference) {
  for (bool aligned : {true, false})
    for (int64_t ratio : {0, 1, 2, 3})
      for (double scale : {1.0, 0.5, 0.25}) {
        const Shape xs{2, 3, 11, 7};
        const Tensor x = random_tensor(xs);
        const float img_h = static_cast<float>(11 / scale), img_w = static_cast<float>(7 / scale);
        const Tensor boxes = testing::random_rois(9, img_h, img_w);
        const std::vector<int64_t> batch = image_of_each(9, 2);
        for (const auto& [oh, ow] :
             std::vector<std::pair<int64_t, int64_t>>{{3, 2}, {1, 1}, {5, 4}}) {
          const RoiAlignParams p{.output_h = oh,
                                 .output_w = ow,
                                 .spatial_scale = scale,
                                 .sampling_ratio = ratio,
                                 .aligned = aligned};
          const Tensor y = roi_align(x, boxes, testing::int_tensor(batch, DType::i64), p);
          ASSERT_EQ(y.shape(), (Shape{9, 3, oh, ow}));
          expect_close(y,
                       reference::roi_align(reference::from_tensor(x),
                                            reference::from_tensor(boxes), batch, p),
                       1e-5,
                       "aligned " + std::to_string(aligned) + ", sampling_ratio " +
                           std::to_string(ratio) + ", scale " + std::to_string(scale) + ", " +
                           std::to_string(oh) + "x" + std::to_string(ow));
        }
      }
}

// x[.., i, j] = j: a bilinear sample at column u reads u (inside the map), so
// a bin's value is the mean column of its samples.
TEST(RoiAlign, AColumnRampGivesTheBinsMeanSampleColumn) {
  Tensor x = Tensor::empty({1, 1, 4, 6});
  for (int64_t i = 0; i < 24; ++i) x.data<float>()[i] = static_cast<float>(i % 6);
  Tensor boxes = Tensor::empty({1, 4});
  const float box[4] = {1.0f, 0.5f, 4.0f, 2.5f};
  std::copy(box, box + 4, boxes.data<float>());
  const Tensor batch = testing::int_tensor({0}, DType::i64);
  // aligned: the box starts at column 0.5, 3 wide; two bins of 1.5, two
  // samples each at 0.875 and 1.625 (mean 1.25), then 2.375 and 3.125 (2.75).
  const Tensor a = roi_align(x, boxes, batch, {.output_h = 1, .output_w = 2, .sampling_ratio = 2});
  EXPECT_FLOAT_EQ(a.data<float>()[0], 1.25f);
  EXPECT_FLOAT_EQ(a.data<float>()[1], 2.75f);
  // not aligned: from column 1, bins at 1..2.5 and 2.5..4: means 1.75 and 3.25.
  const Tensor b = roi_align(x, boxes, batch,
                             {.output_h = 1, .output_w = 2, .sampling_ratio = 2, .aligned = false});
  EXPECT_FLOAT_EQ(b.data<float>()[0], 1.75f);
  EXPECT_FLOAT_EQ(b.data<float>()[1], 3.25f);
}

TEST(RoiAlign, BackwardMatchesFiniteDifferences) {
  for (bool aligned : {true, false})
    for (int64_t ratio : {0, 2}) {
      const RoiAlignParams p{.output_h = 3,
                             .output_w = 2,
                             .spatial_scale = 0.5,
                             .sampling_ratio = ratio,
                             .aligned = aligned};
      const Tensor boxes = testing::random_rois(5, 18.0f, 14.0f);
      const std::vector<int64_t> batch = image_of_each(5, 2);
      const Tensor batch_t = testing::int_tensor(batch, DType::i32);
      check_gradients(
          [&](const std::vector<Tensor>& in) { return roi_align(in[0], boxes, batch_t, p); },
          [&](const std::vector<reference::RefTensor>& in) {
            return reference::roi_align(in[0], reference::from_tensor(boxes), batch, p);
          },
          {random_tensor({2, 3, 9, 7})}, {true}, 2e-3, 128);
    }
}

TEST(RoiAlign, NoBoxesGiveAnEmptyOutputAndAZeroGradient) {
  Tensor x = random_tensor({2, 3, 5, 5});
  x.set_requires_grad(true);
  const Tensor y = roi_align(x, Tensor::empty({0, 4}), testing::int_tensor({}, DType::i64, {0}),
                             {.output_h = 2, .output_w = 2});
  EXPECT_EQ(y.shape(), (Shape{0, 3, 2, 2}));
  y.backward(Tensor::empty({0, 3, 2, 2}));
  for (float g : x.grad().to_vector()) EXPECT_EQ(g, 0.0f);
}

using testing_support::error_of;

TEST(RoiAlign, BadBoxesAndIndicesAreRefusedNamingTheBox) {
  const Tensor x = random_tensor({2, 1, 6, 6});
  Tensor boxes = testing::random_rois(3, 6.0f, 6.0f);
  const RoiAlignParams p{.output_h = 2, .output_w = 2};
  EXPECT_NE(error_of([&] {
              roi_align(x, boxes, testing::int_tensor({0, 2, 1}, DType::i64), p);
            }).find("box 1 is on image 2, outside the batch's [0, 2)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              roi_align(x, boxes, testing::int_tensor({0, 1}, DType::i64), p);
            }).find("batch must be (3)"),
            std::string::npos);
  const Tensor batch = testing::int_tensor({0, 1, 1}, DType::i64);
  boxes.data<float>()[6] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error_of([&] { roi_align(x, boxes, batch, p); }).find("box 1 ("), std::string::npos);
  EXPECT_NE(error_of([&] { roi_align(x, boxes, batch, p); }).find("not a finite number"),
            std::string::npos);
  boxes.data<float>()[6] = 0.0f;
  boxes.data<float>()[10] = 1e30f;  // box 2's x2: an adaptive grid of ~1e29 samples
  EXPECT_NE(error_of([&] { roi_align(x, boxes, batch, p); }).find("samples per bin; at most 1024"),
            std::string::npos);
  EXPECT_EQ(error_of([&] {
              roi_align(x, boxes, batch,
                        {.output_h = 2, .output_w = 2, .sampling_ratio = 2});  // fixed grid: fine
            }),
            "no error");
  EXPECT_NE(error_of([&] {
              roi_align(x, Tensor::empty({3, 5}), batch, p);
            }).find("boxes must be (K, 4)"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              roi_align(x, boxes, batch, {.output_h = 0, .output_w = 2});
            }).find("output 0x2"),
            std::string::npos);
}

}  // namespace
}  // namespace ringmaster::ops
