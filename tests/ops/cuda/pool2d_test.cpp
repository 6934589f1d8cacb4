// Pooling on CUDA against the CPU, forward and dx: the cuDNN path (symmetric
// padding, no dilation, no ceil window) and our own kernels (asymmetric
// padding, dilation, ceil_mode with PyTorch's divisors), max and average with
// and without counted padding, global average. Odd shapes, fresh inputs.
#include "ops/pool2d.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_tensor;

class CudaPool2d : public testing::CudaTest {};

Pool2dParams params(std::array<int64_t, 2> k, std::array<int64_t, 2> s,
                    std::array<int64_t, 2> pb = {0, 0}, std::array<int64_t, 2> pe = {0, 0},
                    bool ceil = false, bool include_pad = false,
                    std::array<int64_t, 2> dilation = {1, 1}) {
  Pool2dParams p;
  p.kernel = k;
  p.stride = s;
  p.padding_begin = pb;
  p.padding_end = pe;
  p.ceil_mode = ceil;
  p.count_include_pad = include_pad;
  p.dilation = dilation;
  return p;
}

void check_max(const Shape& xs, const Pool2dParams& p, const std::string& what) {
  compare_with_cpu([&](const std::vector<Tensor>& in) { return max_pool2d(in[0], p); },
                   {random_tensor(xs)}, {true}, kTolF32, kTolF32, "max " + what);
}

void check_avg(const Shape& xs, const Pool2dParams& p, const std::string& what) {
  compare_with_cpu([&](const std::vector<Tensor>& in) { return avg_pool2d(in[0], p); },
                   {random_tensor(xs)}, {true}, kTolF32, kTolF32, "avg " + what);
}

TEST_F(CudaPool2d, MaxOnCudnn) {
  check_max({3, 5, 11, 9}, params({2, 2}, {2, 2}), "2x2 stride 2, odd input");
  check_max({2, 3, 9, 10}, params({3, 3}, {2, 2}, {1, 1}, {1, 1}), "3x3 stride 2 pad 1");
  check_max({2, 2, 7, 8}, params({3, 2}, {1, 1}), "overlapping 3x2");
}

TEST_F(CudaPool2d, MaxOnOwnKernels) {
  check_max({2, 3, 11, 9}, params({3, 3}, {2, 2}, {0, 0}, {0, 0}, true), "ceil mode");
  check_max({2, 3, 10, 9}, params({3, 2}, {1, 2}, {1, 0}, {0, 1}), "asymmetric padding");
  check_max({2, 2, 12, 11}, params({3, 3}, {1, 1}, {1, 1}, {1, 1}, false, false, {2, 2}),
            "dilation 2");
}

TEST_F(CudaPool2d, AverageOnCudnn) {
  check_avg({3, 4, 9, 11}, params({3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false), "exclude pad");
  check_avg({3, 4, 9, 11}, params({3, 3}, {2, 2}, {1, 1}, {1, 1}, false, true), "include pad");
  check_avg({2, 3, 8, 8}, params({2, 2}, {2, 2}), "2x2");
}

TEST_F(CudaPool2d, AverageOnOwnKernels) {
  check_avg({2, 3, 10, 7}, params({3, 3}, {2, 2}, {1, 1}, {1, 1}, true, true),
            "ceil mode, include pad (clipped divisor)");
  check_avg({2, 3, 10, 7}, params({3, 3}, {2, 2}, {1, 1}, {1, 1}, true, false),
            "ceil mode, exclude pad");
  check_avg({2, 3, 9, 8}, params({2, 3}, {1, 2}, {1, 0}, {0, 2}, false, true),
            "asymmetric padding, include pad");
}

TEST_F(CudaPool2d, GlobalAverage) {
  compare_with_cpu([](const std::vector<Tensor>& in) { return global_avg_pool2d(in[0]); },
                   {random_tensor({3, 7, 5, 9})}, {true}, kTolF32, kTolF32, "global average");
}

}  // namespace
}  // namespace ringmaster::ops
