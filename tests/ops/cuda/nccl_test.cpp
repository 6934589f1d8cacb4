// NCCL through the CUDA backend (ops/cuda/nccl.h). On a GPU: a unique id of
// NCCL's size, and an all-reduce over a communicator of one rank (the world
// one GPU allows) that leaves the data as it was and waits cleanly. Without a
// GPU: NCCL reports itself unavailable, naming why, and using it throws.
#include "ops/cuda/nccl.h"

#include <gtest/gtest.h>

#include <random>

#include "cuda_test_util.h"
#include "ops/check.h"
#include "ops/device_memory.h"
#include "ops/tensor.h"

namespace ringmaster::ops {
namespace {

TEST(Nccl, UnavailableWithoutAGpuSaysWhyAndRefusesToRun) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present: see the tests below";
  const std::string why = cuda::nccl_unavailable_reason();
  EXPECT_FALSE(why.empty());
  EXPECT_NE(why.find("no GPU"), std::string::npos) << why;
  EXPECT_THROW(cuda::nccl_unique_id(), Error);
}

class CudaNccl : public testing::CudaTest {};

TEST_F(CudaNccl, OneRankAllReduceKeepsTheDataAndWaits) {
  const std::string why = cuda::nccl_unavailable_reason();
  if (!why.empty()) GTEST_SKIP() << "NCCL unavailable: " << why;
  const std::string id = cuda::nccl_unique_id();
  EXPECT_EQ(id.size(), 128u);  // NCCL_UNIQUE_ID_BYTES
  void* comm = cuda::nccl_init(1, id, 0, 0);
  std::mt19937_64 rng(std::random_device{}());
  for (int64_t n : {1, 1000, 1 << 20}) {
    Tensor x = Tensor::randn({n}, rng);
    Tensor dev = x.to(Device::cuda());
    cuda::nccl_allreduce_sum(comm, static_cast<float*>(dev.raw()), static_cast<size_t>(n));
    cuda::nccl_wait(comm);
    EXPECT_EQ(dev.to(Device::cpu()).to_vector(), x.to_vector()) << n;
  }
  cuda::nccl_destroy(comm);
  EXPECT_THROW(cuda::nccl_init(1, "short", 0, 0), Error);  // a malformed id is refused
}

}  // namespace
}  // namespace ringmaster::ops
