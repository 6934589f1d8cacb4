// slice and crop2d on CUDA (concat's strided-copy kernels: extract forward,
// insert into zeros backward) against the CPU, exactly: every axis of a 4-d
// tensor, other ranks, a whole axis, an empty range, FCN's skip crop. Odd
// shapes, fresh random inputs each run.
#include "ops/slice.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32Exact;
using testing::random_tensor;

class CudaSlice : public testing::CudaTest {};

void check(const Shape& xs, int axis, int64_t start, int64_t end, const std::string& what) {
  compare_with_cpu([&](const std::vector<Tensor>& in) { return slice(in[0], axis, start, end); },
                   {random_tensor(xs)}, {true}, kTolF32Exact, kTolF32Exact, what);
}

TEST_F(CudaSlice, EveryAxisOf4d) {
  const Shape s{3, 5, 7, 6};
  check(s, 0, 1, 3, "axis 0");
  check(s, 1, 0, 2, "axis 1");
  check(s, 2, 2, 5, "axis 2");
  check(s, -1, 1, 4, "axis -1");
  check(s, 3, 0, 6, "whole axis");
}

TEST_F(CudaSlice, OtherRanks) {
  check({7}, 0, 2, 6, "1-d");
  check({4, 9}, 1, 3, 8, "2-d");
  check({2, 3, 5}, 1, 2, 3, "3-d, one row");
}

TEST_F(CudaSlice, EmptyRange) {
  Tensor y = slice(random_tensor({2, 3}).to(Device::cuda()), 1, 2, 2);
  EXPECT_EQ(y.shape(), (Shape{2, 0}));
  EXPECT_TRUE(y.device().is_cuda());
}

TEST_F(CudaSlice, Crop2dForFcnSkips) {
  compare_with_cpu([](const std::vector<Tensor>& in) { return crop2d(in[0], 5, 5, 17, 13); },
                   {random_tensor({2, 3, 27, 25})}, {true}, kTolF32Exact, kTolF32Exact,
                   "crop 5,5 17x13 of 27x25");
  compare_with_cpu([](const std::vector<Tensor>& in) { return crop2d(in[0], 0, 2, 4, 3); },
                   {random_tensor({1, 2, 4, 6})}, {true}, kTolF32Exact, kTolF32Exact,
                   "columns only");
}

}  // namespace
}  // namespace ringmaster::ops
