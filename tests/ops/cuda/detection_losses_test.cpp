// smooth_l1_loss and bce_with_logits on CUDA against the CPU: the loss (the
// same terms, summed in double in another order) and the gradient (the same
// formula per element), mean and sum.
#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/bce_with_logits.h"
#include "ops/smooth_l1.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::kTolF32;
using testing::random_tensor;

class CudaDetectionLosses : public testing::CudaTest {};

TEST_F(CudaDetectionLosses, MatchTheCpu) {
  for (LossReduction r : {LossReduction::kMean, LossReduction::kSum}) {
    const std::string how = r == LossReduction::kMean ? "mean" : "sum";
    compare_with_cpu(
        [&](const std::vector<Tensor>& in) { return smooth_l1_loss(in[0], in[1], 1.0 / 9, r); },
        {random_tensor({37, 4}, -1, 1), random_tensor({37, 4}, -1, 1)}, {true, false}, kTolF32,
        kTolF32, "smooth_l1 " + how);
    compare_with_cpu(
        [&](const std::vector<Tensor>& in) { return bce_with_logits(in[0], in[1], r); },
        {random_tensor({301}, -8, 8), random_tensor({301}, 0, 1)}, {true, false}, kTolF32, kTolF32,
        "bce_with_logits " + how);
  }
}

}  // namespace
}  // namespace ringmaster::ops
