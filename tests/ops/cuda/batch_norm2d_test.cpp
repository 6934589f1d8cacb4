// batch_norm2d on CUDA against the CPU: training (y, dx, dgamma, dbeta and
// the running statistics after the update), eval (y and every gradient, the
// eval backward being our own kernel), and the one-value-per-channel error.
#include "ops/batch_norm2d.h"
#include "../op_test_util.h"
#include "cuda_test_util.h"
#include "ops/check.h"

namespace ringmaster::ops {
namespace {

using testing::compare_with_cpu;
using testing::expect_close;
using testing::kTolF32;
using testing::random_tensor;

class CudaBatchNorm2d : public testing::CudaTest {};

constexpr double kTolBn = 1e-4;  // variance and the backward sums, another order

TEST_F(CudaBatchNorm2d, TrainingMatchesCpuIncludingRunningStats) {
  for (const Shape& xs : {Shape{4, 3, 5, 7}, Shape{2, 5, 1, 3}, Shape{7, 1, 3, 3}}) {
    const int64_t c = xs[1];
    Tensor x = random_tensor(xs, -2.0f, 3.0f), gamma = random_tensor({c}, 0.5f, 1.5f),
           beta = random_tensor({c});
    Tensor rm = random_tensor({c}), rv = random_tensor({c}, 0.5f, 2.0f);
    Tensor rm_gpu = rm.to(Device::cuda()), rv_gpu = rv.to(Device::cuda());
    Tensor rm_cpu = rm.clone(), rv_cpu = rv.clone();
    BatchNormParams p;
    p.training = true;
    p.momentum = 0.3f;
    compare_with_cpu(
        [&](const std::vector<Tensor>& in) {
          const bool gpu = in[0].device().is_cuda();
          return batch_norm2d(in[0], in[1], in[2], gpu ? rm_gpu : rm_cpu, gpu ? rv_gpu : rv_cpu, p);
        },
        {x, gamma, beta}, {true, true, true}, kTolBn, kTolBn, "training " + shape_str(xs));
    expect_close(rm_gpu, rm_cpu, kTolF32, "running mean");
    expect_close(rv_gpu, rv_cpu, kTolF32, "running var");
  }
}

TEST_F(CudaBatchNorm2d, EvalMatchesCpu) {
  const Shape xs{3, 4, 6, 5};
  Tensor x = random_tensor(xs), gamma = random_tensor({4}), beta = random_tensor({4});
  Tensor rm = random_tensor({4}), rv = random_tensor({4}, 0.2f, 2.0f);
  Tensor rm_gpu = rm.to(Device::cuda()), rv_gpu = rv.to(Device::cuda());
  BatchNormParams p;
  p.training = false;
  p.eps = 1e-3f;
  compare_with_cpu(
      [&](const std::vector<Tensor>& in) {
        const bool gpu = in[0].device().is_cuda();
        return batch_norm2d(in[0], in[1], in[2], gpu ? rm_gpu : rm, gpu ? rv_gpu : rv, p);
      },
      {x, gamma, beta}, {true, true, true}, kTolBn, kTolBn, "eval");
}

TEST_F(CudaBatchNorm2d, TrainingWithoutRunningStats) {
  Tensor x = random_tensor({5, 2, 3, 3}), gamma = random_tensor({2}), beta = random_tensor({2});
  BatchNormParams p;
  compare_with_cpu(
      [&](const std::vector<Tensor>& in) {
        return batch_norm2d(in[0], in[1], in[2], Tensor(), Tensor(), p);
      },
      {x, gamma, beta}, {true, false, true}, kTolBn, kTolBn, "untracked");
}

TEST_F(CudaBatchNorm2d, OneValuePerChannelThrows) {
  Tensor x = Tensor::zeros({1, 3, 1, 1}, DType::f32, Device::cuda());
  Tensor g = Tensor::zeros({3}, DType::f32, Device::cuda());
  EXPECT_THROW(batch_norm2d(x, g, g, Tensor(), Tensor(), BatchNormParams{}), Error);
}

}  // namespace
}  // namespace ringmaster::ops
