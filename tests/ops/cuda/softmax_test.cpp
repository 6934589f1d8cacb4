// softmax (cuDNN) and the fused softmax cross-entropy (own kernels) on CUDA
// against the CPU: every axis of a 4-d tensor, i32 and i64 labels, an
// out-of-range label throwing ops::Error naming the row, as on the CPU.
#include <cstring>

#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/check.h"
#include "ops/softmax.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_tensor;

class CudaSoftmax : public testing::CudaTest {};

Tensor labels(const std::vector<int64_t>& v, DType t) { return testing::int_tensor(v, t); }

TEST_F(CudaSoftmax, EveryAxis) {
  for (int axis = -4; axis < 4; ++axis) {
    compare_with_cpu([&](const std::vector<Tensor>& in) { return softmax(in[0], axis); },
                     {random_tensor({3, 5, 4, 7}, -3.0f, 3.0f)}, {true}, kTolF32, kTolF32,
                     "axis " + std::to_string(axis));
  }
  compare_with_cpu([](const std::vector<Tensor>& in) { return softmax(in[0], 0); },
                   {random_tensor({11})}, {true}, kTolF32, kTolF32, "1-d");
}

TEST_F(CudaSoftmax, CrossEntropyMatchesCpu) {
  for (DType t : {DType::i64, DType::i32}) {
    const int64_t n = 37, c = 13;
    std::vector<int64_t> l(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) l[static_cast<size_t>(i)] = (i * 7 + 3) % c;
    Tensor lab = labels(l, t);
    compare_with_cpu(
        [&](const std::vector<Tensor>& in) {
          return softmax_cross_entropy(in[0],
                                       in[0].device().is_cuda() ? lab.to(Device::cuda()) : lab);
        },
        {random_tensor({n, c}, -5.0f, 5.0f)}, {true}, kTolF32, kTolF32,
        std::string("labels ") + dtype_name(t));
  }
}

TEST_F(CudaSoftmax, CrossEntropyWideRows) {
  Tensor lab = labels({0, 999, 500}, DType::i64);
  compare_with_cpu(
      [&](const std::vector<Tensor>& in) {
        return softmax_cross_entropy(in[0],
                                     in[0].device().is_cuda() ? lab.to(Device::cuda()) : lab);
      },
      {random_tensor({3, 1000}, -10.0f, 10.0f)}, {true}, kTolF32, kTolF32, "1000 classes");
}

TEST_F(CudaSoftmax, BadLabelThrowsNamingTheRow) {
  Tensor logits = random_tensor({4, 3}).to(Device::cuda());
  for (int64_t bad : {-1, 3}) {
    Tensor lab = labels({0, 2, bad, bad}, DType::i64).to(Device::cuda());
    try {
      softmax_cross_entropy(logits, lab);
      ADD_FAILURE() << "label " << bad << " did not throw";
    } catch (const Error& e) {
      EXPECT_NE(std::strstr(e.what(), "row 2"), nullptr) << e.what();
    }
  }
}

}  // namespace
}  // namespace ringmaster::ops
