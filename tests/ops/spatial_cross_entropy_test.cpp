// spatial_cross_entropy: forward against the reference for 4-d and 3-d
// logits, gradients against finite differences, agreement with
// softmax_cross_entropy on one pixel, blocked logits, i32 labels, and a bad
// label named by image and pixel.
#include "ops/reference/spatial_cross_entropy.h"

#include "op_test_util.h"
#include "ops/softmax.h"
#include "ops/spatial_cross_entropy.h"

namespace ringmaster::ops {
namespace {

using reference::RefTensor;
using testing::check_gradients;
using testing::expect_close;
using testing::random_labels;
using testing::random_tensor;

RefTensor ref_labels(const Tensor& t) {
  RefTensor r(t.shape());
  for (int64_t i = 0; i < t.numel(); ++i) {
    r.v[static_cast<size_t>(i)] =
        static_cast<double>(t.dtype() == DType::i64 ? t.data<int64_t>()[i] : t.data<int32_t>()[i]);
  }
  return r;
}

void check(const Tensor& logits, const Tensor& labels, const std::string& what) {
  SCOPED_TRACE(what);
  const RefTensor rl = ref_labels(labels);
  Tensor loss = spatial_cross_entropy(logits, labels);
  EXPECT_EQ(loss.shape(), Shape{});
  expect_close(loss, reference::spatial_cross_entropy(reference::from_tensor(logits), rl), 1e-5,
               what);
  check_gradients(
      [&](const std::vector<Tensor>& in) { return spatial_cross_entropy(in[0], labels); },
      [&](const std::vector<RefTensor>& in) { return reference::spatial_cross_entropy(in[0], rl); },
      {logits}, {true}, 2e-3, 96);
}

TEST(SpatialCrossEntropy, FourDimensionalLogits) {
  check(random_tensor({2, 5, 4, 3}, -3, 3), random_labels({2, 4, 3}, 5), "(2, 5, 4, 3)");
}

TEST(SpatialCrossEntropy, ThreeDimensionalLogitsAndI32Labels) {
  check(random_tensor({3, 4, 7}, -2, 2), random_labels({3, 7}, 4, DType::i32), "(3, 4, 7) i32");
}

TEST(SpatialCrossEntropy, BlockedLogits) {
  Tensor x = random_tensor({2, 17, 3, 2}, -2, 2);
  check(testing::to_blocked(x), random_labels({2, 3, 2}, 17), "nChw16c");
}

TEST(SpatialCrossEntropy, OnePixelEqualsSoftmaxCrossEntropy) {
  Tensor x = random_tensor({4, 6, 1, 1}, -4, 4);
  Tensor y = random_labels({4, 1, 1}, 6);
  const float a = spatial_cross_entropy(x, y).item();
  const float b = softmax_cross_entropy(x.reshape({4, 6}), y.reshape({4})).item();
  EXPECT_NEAR(a, b, 1e-6);
}

TEST(SpatialCrossEntropy, BadLabelIsNamed) {
  Tensor x = random_tensor({2, 3, 2, 2});
  Tensor y = Tensor::zeros({2, 2, 2}, DType::i64);
  y.data<int64_t>()[6] = 3;  // image 1, pixel 2
  try {
    spatial_cross_entropy(x, y);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("image 1 pixel 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ringmaster::ops
