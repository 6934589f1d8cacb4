// sequence_cross_entropy on CUDA against the CPU (it is embedding and
// softmax_cross_entropy underneath): forward and backward with pads.
#include "ops/sequence_cross_entropy.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_tensor;

class CudaSequenceCrossEntropy : public testing::CudaTest {};

TEST_F(CudaSequenceCrossEntropy, MatchesTheCpu) {
  std::vector<int64_t> t(4 * 9);
  for (size_t i = 0; i < t.size(); ++i) t[i] = i % 4 == 3 ? 0 : static_cast<int64_t>(i % 17);
  const Tensor targets = testing::int_tensor(t, DType::i64, {4, 9});
  compare_with_cpu(
      [&](const std::vector<Tensor>& in) {
        return sequence_cross_entropy(
            in[0], in[0].device().is_cuda() ? targets.to(in[0].device()) : targets, 0);
      },
      {random_tensor({4, 9, 17}, -3.0f, 3.0f)}, {true}, kTolF32, kTolF32, "(4, 9, 17), pad 0");
}

}  // namespace
}  // namespace ringmaster::ops
