// NCCL through the CUDA backend (ops/nccl.h). On a GPU: a unique id of
// NCCL's size, and an all-reduce over a communicator of one rank (the world
// one GPU allows) that leaves the data as it was and waits cleanly, and its
// fp16 form (rounding within one half-ulp of the max, error feedback), and a
// wait that gives up at its deadline or cancel flag while the stream is busy
// and aborts the communicator. Without a GPU: NCCL reports itself
// unavailable, naming why, and using it throws.
#include "ops/nccl.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>

#include "cuda_test_util.h"
#include "ops/check.h"
#include "ops/device_memory.h"
#include "ops/linear.h"
#include "ops/tensor.h"

namespace ringmaster::ops {
namespace {

// In the CudaAvailability suite: the GPU-less checks scripts/gpu-check.sh leaves out.
TEST(CudaAvailability, NcclUnavailableWithoutAGpuSaysWhyAndRefusesToRun) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: see the tests below";
  const std::string why = nccl_unavailable_reason();
  EXPECT_FALSE(why.empty());
  EXPECT_NE(why.find("no GPU"), std::string::npos) << why;
  EXPECT_THROW(nccl_unique_id(), Error);
}

class CudaNccl : public testing::CudaTest {};

TEST_F(CudaNccl, OneRankAllReduceKeepsTheDataAndWaits) {
  const std::string why = nccl_unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "NCCL unavailable: " << why;
  const std::string id = nccl_unique_id();
  EXPECT_EQ(id.size(), 128u);  // NCCL_UNIQUE_ID_BYTES
  void* comm = nccl_init(1, id, 0, 0);
  std::mt19937_64 rng(std::random_device{}());
  for (int64_t n : {1, 1000, 1 << 20}) {
    Tensor x = Tensor::randn({n}, rng);
    Tensor dev = x.to(Device::cuda());
    nccl_allreduce_sum(comm, static_cast<float*>(dev.raw()), static_cast<size_t>(n));
    nccl_wait(comm, 60000, nullptr);
    EXPECT_EQ(dev.to(Device::cpu()).to_vector(), x.to_vector()) << n;
  }
  nccl_destroy(comm);
  EXPECT_THROW(nccl_init(1, "short", 0, 0), Error);  // a malformed id is refused
}

TEST_F(CudaNccl, Fp16AllReduceRoundsToHalfAndKeepsTheResidual) {
  const std::string why = nccl_unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "NCCL unavailable: " << why;
  void* comm = nccl_init(1, nccl_unique_id(), 0, 0);
  std::mt19937_64 rng(std::random_device{}());
  const int64_t n = 100003;
  Tensor x = Tensor::randn({n}, rng);
  Tensor residual = Tensor::zeros({n}, DType::f32, Device::cuda());
  Tensor halves = Tensor::empty({n}, DType::f16, Device::cuda());
  Tensor scratch = Tensor::empty({1}, DType::f32, Device::cuda());
  const std::vector<float> want = x.to_vector();
  double max_abs = 0.0;
  for (float v : want) max_abs = std::max(max_abs, static_cast<double>(std::fabs(v)));
  std::vector<double> sum_out(static_cast<size_t>(n), 0.0);
  const int steps = 20;
  for (int step = 0; step < steps; ++step) {
    Tensor dev = x.to(Device::cuda());
    nccl_allreduce_sum_fp16(comm, static_cast<float*>(dev.raw()),
                            static_cast<float*>(residual.raw()), halves.raw(),
                            static_cast<float*>(scratch.raw()), static_cast<size_t>(n));
    nccl_wait(comm, 60000, nullptr);
    const std::vector<float> got = dev.to(Device::cpu()).to_vector();
    for (size_t i = 0; i < got.size(); ++i) {
      // The scale puts max |x| in [2^13, 2^14): half an f16 ulp there is at
      // most max * 2^-10. got = x + r_before - r_after: two residuals.
      ASSERT_LE(std::fabs(got[i] - want[i]), 2.1 * max_abs * 0x1p-10) << i;
      sum_out[i] += got[i];
    }
  }
  // Error feedback: the accumulated output tracks steps * x to one rounding,
  // not `steps` roundings.
  double worst = 0.0;
  for (size_t i = 0; i < sum_out.size(); ++i)
    worst = std::max(worst, std::fabs(sum_out[i] - steps * static_cast<double>(want[i])));
  EXPECT_LE(worst, 1.1 * max_abs * 0x1p-10);  // one residual
  nccl_destroy(comm);
}

// The all-reduce waits (by event) for the work queued on the default stream
// before it: a few 8192-square GEMMs (about 4 TFLOP) keep it busy far
// longer than the wait's first look, as a stopped peer would.
void queue_busy_work_then_allreduce(void* comm, Tensor& data) {
  Tensor a = Tensor::zeros({8192, 8192}, DType::f32, Device::cuda());
  for (int i = 0; i < 4; ++i) a = linear(a, a, Tensor());
  nccl_allreduce_sum(comm, static_cast<float*>(data.raw()), static_cast<size_t>(data.numel()));
}

TEST_F(CudaNccl, AWaitGivesUpAtItsCancelOrDeadlineAndAbortsTheCommunicator) {
  const std::string why = nccl_unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "NCCL unavailable: " << why;
  Tensor data = Tensor::zeros({1024}, DType::f32, Device::cuda());
  for (const bool by_cancel : {true, false}) {
    SCOPED_TRACE(by_cancel ? "cancel" : "deadline");
    void* comm = nccl_init(1, nccl_unique_id(), 0, 0);
    const std::atomic<bool> cancel{by_cancel};
    queue_busy_work_then_allreduce(comm, data);
    try {
      nccl_wait(comm, by_cancel ? 600000 : 1, &cancel);
      ADD_FAILURE() << "the wait did not give up";
    } catch (const Error& e) {
      const std::string m = e.what();
      EXPECT_NE(m.find(by_cancel ? "cancelled while waiting on the peers" : "not done within 1 ms"),
                std::string::npos)
          << m;
      EXPECT_NE(m.find("communicator aborted"), std::string::npos) << m;
    }
    // Aborted: later calls throw, naming why; destroying it does not hang.
    try {
      nccl_allreduce_sum(comm, static_cast<float*>(data.raw()), 1);
      ADD_FAILURE() << "an aborted communicator took an all-reduce";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("was aborted"), std::string::npos) << e.what();
    }
    EXPECT_THROW(nccl_wait(comm, 1000, nullptr), Error);
    nccl_destroy(comm);
  }
  // Work already done wins over a set cancel flag.
  void* comm = nccl_init(1, nccl_unique_id(), 0, 0);
  nccl_allreduce_sum(comm, static_cast<float*>(data.raw()), 1);
  nccl_wait(comm, 60000, nullptr);
  const std::atomic<bool> cancel{true};
  EXPECT_NO_THROW(nccl_wait(comm, 60000, &cancel));
  nccl_destroy(comm);
}

}  // namespace
}  // namespace ringmaster::ops
