// linear on CUDA (cuBLAS) against the CPU: with and without bias, fused relu,
// a 4-d input flattened from dim 1, odd sizes, and frozen weights.
#include "ops/linear.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32Gemm;
using testing::random_tensor;

class CudaLinear : public testing::CudaTest {};

void check(const Shape& xs, int64_t out, bool bias, bool relu, const std::string& what,
           std::vector<bool> grads = {true, true, true}) {
  const int64_t in = shape_numel(xs) / xs[0];
  Tensor x = random_tensor(xs), w = random_tensor({out, in});
  Tensor b = bias ? random_tensor({out}) : Tensor();
  grads[2] = grads[2] && bias;
  compare_with_cpu([&](const std::vector<Tensor>& t) { return linear(t[0], t[1], t[2], relu); },
                   {x, w, b}, grads, kTolF32Gemm, kTolF32Gemm, what);
}

TEST_F(CudaLinear, MatchesCpu) {
  check({7, 13}, 5, true, false, "7x13 -> 5");
  check({1, 3}, 1, true, false, "one sample, one output");
  check({33, 129}, 65, false, false, "no bias");
}

TEST_F(CudaLinear, FusedRelu) { check({9, 17}, 11, true, true, "fused relu"); }

TEST_F(CudaLinear, FourDimensionalInput) {
  check({5, 3, 4, 3}, 7, true, true, "(N, C, H, W) flattened");
}

TEST_F(CudaLinear, FrozenWeights) {
  check({6, 10}, 4, true, false, "dx only", {true, false, false});
  check({6, 10}, 4, true, false, "no dx", {false, true, true});
}

}  // namespace
}  // namespace ringmaster::ops
