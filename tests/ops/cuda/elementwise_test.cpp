// The element-wise CUDA kernels against the CPU: relu, add, dropout (the
// very same mask for one seed), cast f32 <-> f16 (the same rounding), concat
// on every axis and any dtype, and reshape/flatten of CUDA tensors.
#include <cstring>

#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/add.h"
#include "ops/cast.h"
#include "ops/concat.h"
#include "ops/dropout.h"
#include "ops/relu.h"
#include "ops/reshape.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF16;
using testing::kTolF32Exact;
using testing::random_tensor;

class CudaElementwise : public testing::CudaTest {};

TEST_F(CudaElementwise, Relu) {
  for (const Shape& s : {Shape{1}, Shape{7}, Shape{3, 5, 7, 9}, Shape{1000003}})
    compare_with_cpu([](const std::vector<Tensor>& in) { return relu(in[0]); }, {random_tensor(s)},
                     {true}, kTolF32Exact, kTolF32Exact, "relu " + shape_str(s));
}

TEST_F(CudaElementwise, Add) {
  for (const Shape& s : {Shape{5}, Shape{2, 3, 5, 7}})
    compare_with_cpu([](const std::vector<Tensor>& in) { return add(in[0], in[1]); },
                     {random_tensor(s), random_tensor(s)}, {true, true}, kTolF32Exact, kTolF32Exact,
                     "add " + shape_str(s));
}

TEST_F(CudaElementwise, DropoutUsesTheCpuMask) {
  for (float p : {0.1f, 0.5f, 0.9f}) {
    const uint64_t seed = 1234567 + static_cast<uint64_t>(p * 10);
    compare_with_cpu([&](const std::vector<Tensor>& in) { return dropout(in[0], p, true, seed); },
                     {random_tensor({3, 7, 11, 5}, 0.5f, 1.5f)}, {true}, kTolF32Exact, kTolF32Exact,
                     "dropout p " + std::to_string(p));
  }
  // p == 1 drops everything; eval is the identity.
  Tensor x = random_tensor({4, 9}).to(Device::cuda());
  for (float v : dropout(x, 1.0f, true, 7).to_vector()) EXPECT_EQ(v, 0.0f);
  EXPECT_TRUE(dropout(x, 0.5f, false, 7).same_storage(x));
}

TEST_F(CudaElementwise, CastBothWays) {
  // Values spread over f16's range, including ones that round.
  Tensor x = random_tensor({3, 1001}, -70000.0f, 70000.0f);
  Tensor h_cpu = cast(x, DType::f16), h_gpu = cast(x.to(Device::cuda()), DType::f16);
  ASSERT_EQ(h_gpu.dtype(), DType::f16);
  EXPECT_TRUE(h_gpu.device().is_cuda());
  Tensor hb = h_gpu.to(Device::cpu());
  EXPECT_EQ(0, std::memcmp(hb.raw(), h_cpu.raw(), h_cpu.nbytes())) << "f16 bits differ";
  compare_with_cpu(
      [](const std::vector<Tensor>& in) { return cast(cast(in[0], DType::f16), DType::f32); },
      {random_tensor({17, 3})}, {true}, kTolF16, kTolF32Exact, "f32 -> f16 -> f32");
}

TEST_F(CudaElementwise, ConcatEveryAxis) {
  for (int axis = 0; axis < 4; ++axis) {
    Shape a{2, 3, 4, 5}, b = a, c = a;
    b[static_cast<size_t>(axis)] = 1;
    c[static_cast<size_t>(axis)] = 3;
    compare_with_cpu([&](const std::vector<Tensor>& in) { return concat(in, axis); },
                     {random_tensor(a), random_tensor(b), random_tensor(c)}, {true, false, true},
                     kTolF32Exact, kTolF32Exact, "concat axis " + std::to_string(axis));
  }
}

TEST_F(CudaElementwise, ConcatOfIntegers) {
  Tensor a = Tensor::empty({2, 3}, DType::i64), b = Tensor::empty({2, 2}, DType::i64);
  for (int i = 0; i < 6; ++i) a.data<int64_t>()[i] = i;
  for (int i = 0; i < 4; ++i) b.data<int64_t>()[i] = 100 + i;
  Tensor y = concat({a.to(Device::cuda()), b.to(Device::cuda())}, 1).to(Device::cpu());
  const std::vector<int64_t> want{0, 1, 2, 100, 101, 3, 4, 5, 102, 103};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(y.data<int64_t>()[i], want[i]) << i;
}

TEST_F(CudaElementwise, ReshapeAndFlatten) {
  compare_with_cpu(
      [](const std::vector<Tensor>& in) {
        return relu(flatten(reshape(in[0], {3, -1, 5})));
      },
      {random_tensor({3, 4, 5})}, {true}, kTolF32Exact, kTolF32Exact, "reshape + flatten");
}

}  // namespace
}  // namespace ringmaster::ops
